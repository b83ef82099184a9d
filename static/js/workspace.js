// The live update (htmx) replaces the result panel. Two things the swap would otherwise lose, and one it
// need not send again:
//
// 1. Field errors. The update sends, out of band, only the error containers of the fields that have an
//    error now: just before it is swapped in, every field's container is emptied, so an error the
//    clinician has fixed disappears.
// 2. The options the clinician had opened. After the swap they are opened again, which loads their
//    detail (doses, evidence, warnings) for the new workup.
//
// Without JavaScript the whole page is posted and comes back complete: none of this is needed.
let reopen = [];

document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!event.detail.shouldSwap || !target || target.id !== "result-panel") return;
  for (const box of document.querySelectorAll(".field-error, .form-errors")) box.replaceChildren();
  reopen = [...target.querySelectorAll("article.option details.option-detail[open]")]
    .map((details) => details.closest("article.option").id);
});

document.addEventListener("htmx:afterSettle", () => {
  if (!reopen.length) return;
  const panel = document.getElementById("result-panel");
  for (const id of reopen) {
    const details = panel && panel.querySelector(`#${CSS.escape(id)} details.option-detail`);
    if (details) details.open = true; // "toggle" → hx-get of this option's detail
  }
  reopen = [];
});

// 3. What did not change. Each card's body, each tier's layout but the preferred's (which options it holds)
//    and the references carry the key of their content (data-card-key); the result's frame (its tiers, its
//    knowledge base) carries its own (data-frame-key). The update sends the keys this page holds
//    (panel_cards). When it holds the new result's frame, the server sends only the parts that changed, out of
//    band, and the page keeps the rest where it is; otherwise the whole panel. A body held here that comes in a
//    tier or a panel sent whole comes as an empty element marked hx-preserve, for htmx to keep this page's own
//    in its place. Not held: a card whose detail is open or was loaded (it shows, or is loading, the last
//    workup's doses), nor its tier, so that card comes back new and is reopened (2.).
//    Should a held element be missing all the same (an empty one left after the swap), the update is asked
//    for again without keys, and every card comes back whole.
let sendHeld = true;

document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.target?.id !== "result-panel" || event.detail.verb !== "post") return;
  const held = !sendHeld ? [] : [...document.querySelectorAll("#result-panel [data-card-key]")]
    .filter((body) => !body.querySelector("details.option-detail[open], .option-detail-body:not(:empty)"))
    .map((body) => body.dataset.cardKey);
  const frame = document.querySelector("#result-panel [data-frame-key]");
  if (sendHeld && frame) held.push(frame.dataset.frameKey);
  event.detail.parameters["panel_cards"] = held.join(" ");
  sendHeld = true;
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target?.id !== "result-panel" && event.detail.elt?.id !== "result-panel") return;
  if (!document.querySelector("#result-panel [data-held]")) return;
  sendHeld = false;
  htmx.trigger(document.querySelector(".workup[hx-post]"), "change");
});

// 4. The signed workup of the result shown, which the result's head carries (renewed by every update), goes with
//    each request the result panel makes for more of it: an option's detail, the comparison at a glance
//    (views/option_detail.py). The head is always sent again; the rest of the panel may be kept (3.).
document.addEventListener("htmx:configRequest", (event) => {
  if (event.detail.verb !== "get" || !event.detail.elt.closest("#result-panel")) return;
  const token = document.getElementById("result-head")?.dataset.workupToken;
  if (token) event.detail.headers["X-Workup-Token"] = token;
});

// 5. A field left after typing fires "change", but the debounced "input" has already sent its value: the
//    panel shows, or is about to show, the result of exactly this form. Such a "change" is not sent again
//    (it would cost the server a whole update and the page a second swap, and abort the update in flight).
//    Decided before htmx aborts anything (htmx:confirm). Anything else is sent: a form that differs in any
//    value, the asking again of 3., or after an update that failed.
let lastSent = null; // the values the last live update sent (htmx's own FormData)

function workupValues(formData) {
  return [...formData.entries()].filter(([name]) => name !== "panel_cards")
    .map(([name, value]) => `${name}=${value}`).sort().join("&");
}

document.addEventListener("htmx:confirm", (event) => {
  if (event.detail.target?.id !== "result-panel" || event.detail.verb !== "post") return;
  if (event.detail.triggeringEvent?.type !== "change" || !sendHeld || lastSent === null) return;
  const form = event.detail.elt.closest("form");
  if (form && workupValues(new FormData(form)) === workupValues(lastSent)) event.preventDefault();
});

document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.target?.id === "result-panel" && event.detail.requestConfig?.verb === "post") {
    lastSent = event.detail.requestConfig.formData;
  }
});

for (const failed of ["htmx:sendError", "htmx:responseError", "htmx:timeout", "htmx:sendAbort"]) {
  document.addEventListener(failed, (event) => {
    if (event.detail.target?.id === "result-panel") lastSent = null;
  });
}

// "Choose this option" on a card fills the save form's chosen option (the select stays for keyboards), says so
// in the save panel's status line and moves the focus there: to the override reason when the option is not
// preferred (saving it needs one), otherwise to the select. Delegated from the document, so it works on the
// cards each live update brings in. Without JavaScript the button posts the form back with the option chosen.
const NOT_PREFERRED_HINT = "It is not preferred for this workup: give the reason for choosing it.";

function markChosen() {
  const select = document.getElementById("id_chosen_option_id");
  if (!select) return;
  for (const card of document.querySelectorAll("#result-panel [data-option]")) {
    card.classList.toggle("chosen", card.dataset.option === select.value);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-choose]");
  const select = document.getElementById("id_chosen_option_id");
  if (!button || !select) return;
  event.preventDefault();
  select.value = button.dataset.choose;
  markChosen();
  const name = select.selectedOptions[0] ? select.selectedOptions[0].textContent : button.dataset.choose;
  const preferred = button.closest("[data-tier]")?.dataset.tier === "preferred";
  const status = document.getElementById("choose-status");
  if (status) status.textContent = `${name} chosen. ` + (preferred ? "Review and save the consult." : NOT_PREFERRED_HINT);
  const reason = document.getElementById("id_override_reason");
  const next = !preferred && reason ? reason : select;
  next.focus({ preventScroll: true });
  (status || next).scrollIntoView({ block: "center" });
});

document.addEventListener("change", (event) => {
  const select = event.target;
  if (select.id !== "id_chosen_option_id") return;
  markChosen();
  // The whole name, even where a phone's narrow select shows only its start.
  const status = document.getElementById("choose-status");
  if (status) status.textContent = select.value ? `${select.selectedOptions[0].textContent} chosen.` : "";
});
document.addEventListener("htmx:afterSettle", markChosen);

// Primary refractory has no relapse number and no first remission: switching to it empties both and disables
// them (a disabled input is not sent). What was typed comes back if the status is switched back. Capture
// phase: this runs before htmx, on the wrapper, reads the inputs for the live update.
const NO_REMISSION = ["id_relapse_number", "id_cr1_duration_months"];

function syncDiseaseStatus() {
  const status = document.getElementById("id_disease_status");
  if (!status) return;
  const refractory = status.value === "primary_refractory";
  for (const id of NO_REMISSION) {
    const input = document.getElementById(id);
    if (!input || input.disabled === refractory) continue;
    if (refractory) {
      input.dataset.kept = input.value;
      input.value = "";
    } else if (input.value === "" && input.dataset.kept) {
      input.value = input.dataset.kept;
    }
    input.disabled = refractory;
  }
}

document.addEventListener("change", (event) => {
  if (event.target.id === "id_disease_status") syncDiseaseStatus();
}, true);

// A gene ticked as awaited has no result yet: its result input above is emptied and disabled until the box is
// unticked (the workup refuses a gene both positive and pending). Capture phase, as above.
function syncPending(box) {
  const result = document.getElementById(`id_${box.value}`);
  if (!result || result.disabled === box.checked) return;
  if (box.checked) {
    result.dataset.kept = result.type === "checkbox" ? String(result.checked) : result.value;
    if (result.type === "checkbox") result.checked = false;
    else result.value = "unknown";
  } else if (result.dataset.kept !== undefined) {
    if (result.type === "checkbox") result.checked = result.dataset.kept === "true";
    else result.value = result.dataset.kept;
  }
  result.disabled = box.checked;
}

document.addEventListener("change", (event) => {
  if (event.target.name === "genetics_pending") syncPending(event.target);
}, true);

// A failed save: the banner listing every problem takes the focus; each of its links focuses its input.
document.addEventListener("click", (event) => {
  const link = event.target.closest("#save-errors a[href^='#']");
  if (!link) return;
  const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
  const control = target && (target.matches("input, select, textarea") ? target : target.querySelector("input"));
  if (!control) return;
  event.preventDefault();
  control.focus({ preventScroll: true });
  control.scrollIntoView({ block: "center" });
});

syncDiseaseStatus();
document.querySelectorAll("input[name='genetics_pending']").forEach(syncPending);
markChosen();
document.getElementById("save-errors")?.focus();
