// The live update (htmx) replaces the result panel. Two things the swap would otherwise lose:
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
