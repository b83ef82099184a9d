"""The consult workspace: the form in sections, the live (HTMX) result fragment, field errors beside the
field without losing what was typed, the same result without JavaScript, each option's detail loaded on
demand, and option cards rendered once per content (tests/web/
test_page_weight.py holds the size budgets)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.urls import reverse
from markupsafe import escape  # the result panel is rendered by Jinja2 (aml_salvage/jinja_env.py)

from aml_salvage import services
from aml_salvage.domain.errors import MSG_ADULTS_ONLY
from aml_salvage.domain.knowledge import OPTION_IDS
from aml_salvage.forms import FIELD_PATHS, SECTIONS
from aml_salvage.views.option_detail import TOKEN_HEADER, URL_NAME, workup_token
from tests.factories import YOUNG_FIT, build, card_body, case_files, load_case
from tests.web.conftest import post_data

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

TOKEN_META = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")  # the header as Django's test client takes it


@pytest.fixture
def client(client_for, author):
    return client_for(author)


def live(client, data):
    return client.post(reverse("workspace"), data, **HX)


def tier_of(body: str, option_id: str) -> str | None:
    match = re.search(rf'data-option="{re.escape(option_id)}" data-tier="([a-z_]+)"', body)
    return match.group(1) if match else None


def field_error(body: str, name: str) -> str:
    match = re.search(rf'<div id="err-{name}" class="field-error"[^>]*>(.*?)</div>', body, re.S)
    assert match, f"no error container for {name}"
    return match.group(1)


# --- the page --------------------------------------------------------------------------------------------

def test_workspace_shows_the_workup_in_sections_with_labels_tied_to_inputs(client):
    body = client.get(reverse("workspace")).content.decode()
    for section in SECTIONS:
        assert f"<legend>{section.title}</legend>" in body
    for name in FIELD_PATHS:
        if name == "genetics_pending":  # a group of checkboxes, each with its label, the group named
            assert f'id="id_{name}" role="group" aria-labelledby="label-{name}"' in body
            assert re.search(rf'<label for="id_{name}_0">FLT3-ITD awaited</label>', body)
        else:
            assert re.search(rf'<label[^>]* for="id_{name}"', body), f"no label for {name}"
        assert f'id="id_{name}"' in body
        assert f'id="err-{name}"' in body
    for unit in ("µmol/L", "mg/dL", ">cm<", "kg, actual body weight"):
        assert unit in body
    assert "Fill in the workup" in body


def test_defaults_are_sensible_and_judgements_are_not_presumed(client):
    body = client.get(reverse("workspace")).content.decode()
    assert re.search(r'<option value="relapse" selected>', body)
    assert re.search(rf'<option value="{settings.AML_SALVAGE_DEFAULT_JURISDICTION}" selected>', body)
    assert re.search(r'<option value="mosteller" selected>', body)
    assert re.search(r'<option value="none" selected>', body)  # CYP3A4 inhibitor
    # Fitness and goals of care are the clinician's judgement: no default answer.
    for name in ("fit_for_intensive_chemo", "goals_of_care", "sex"):
        select = re.search(rf'<select name="{name}".*?</select>', body, re.S).group(0)
        assert re.search(r'<option value="" selected>', select), name


def test_htmx_is_served_from_our_static_files_and_nothing_from_another_host(client):
    body = client.get(reverse("workspace")).content.decode()
    assert '/static/django_htmx/htmx-2.min.js' in body
    assert "htmx-4" not in body
    assert not re.search(r'(src|href)="(https?:)?//', body), "an asset from another host"
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert 'hx-post="/"' in body and "delay:400ms" in body


# --- the live update (HTMX) ------------------------------------------------------------------------------

def test_htmx_update_returns_only_the_result_fragment(client):
    response = live(client, post_data())
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="result-panel"' in body
    assert "<html" not in body and "<form" not in body
    # (The one hidden input is the knowledge base of the result, which the save posts back: nothing typed.)
    assert not re.search(r'<input(?! type="hidden" name="kb_stamp")', body) and "<select" not in body, \
        "inputs are never re-rendered by a live update"
    # Only the fields in error get their container out of band; static/js/workspace.js empties the others
    # just before the swap (the browser test checks a fixed error disappears). A valid workup: none at all.
    assert 'class="field-error"' not in body
    assert '<div id="err-__all__" class="form-errors" hx-swap-oob="true">' in body
    assert 'id="result-status" hx-swap-oob="innerHTML"' in body


def test_htmx_update_sends_the_error_containers_of_the_fields_in_error_only(client):
    body = live(client, post_data(build(YOUNG_FIT, **{"patient.age_years": 15}))).content.decode()
    sent = re.findall(r'<div id="err-([a-z0-9_]+)" class="field-error" hx-swap-oob="true">', body)
    assert sent == ["age_years"]
    assert set(sent) <= set(FIELD_PATHS)


def test_the_workspace_loads_the_script_that_empties_fixed_errors(client):
    page = client.get(reverse("workspace")).content.decode()
    match = re.search(r'<script src="(/static/js/workspace[^"]*\.js)" defer></script>', page)
    assert match, "workspace.js is loaded from our own static files"
    script = (settings.BASE_DIR / "static" / "js" / "workspace.js").read_text()
    assert "htmx:beforeSwap" in script and ".field-error" in script


def test_htmx_fragment_shows_the_whole_result(client):
    body = live(client, post_data()).content.decode()
    for option_id in OPTION_IDS:
        assert tier_of(body, option_id), f"{option_id} missing: no option is ever hidden"
    assert body.count("data-option=") == len(OPTION_IDS)
    for heading in ("Assessment", "Actions", "Options by tier", "References"):
        assert f">{heading}</h3>" in body
    assert "BSA" in body and "CrCl" in body and "EPI" in body
    assert "Doses for this patient — Height 165 cm, weight 60 kg, BSA 1.66 m²" in body


def test_not_recommended_options_are_listed_with_their_reasons_in_the_live_panel(client):
    body = live(client, post_data()).content.decode()
    entry = re.search(r'<li class="option option-set-aside tier-not_recommended[^"]*" id="option-gilteritinib"'
                      r' data-option="gilteritinib" data-tier="not_recommended">(.*?)</li>', body, re.S)
    assert entry, "gilteritinib (no FLT3 mutation) is in the set-aside list"
    text = entry.group(1)
    assert "R-TGT-00" in text and "FLT3" in text and "not present at relapse" in text
    assert 'href="/regimens/gilteritinib/" target="_blank"' in text  # the library, without leaving the workup
    assert "dose-table" not in text  # not recommended: not dosed
    assert re.search(r'<h4 id="h-tier-not_recommended">.*?Not recommended', body, re.S)


def test_tiers_are_labelled_in_words_and_shapes_not_colour_alone(client):
    body = live(client, post_data()).content.decode()
    for label, icon in (("Preferred", "★"), ("Alternative", "◆"), ("Consider", "○"), ("Not recommended", "✕")):
        assert re.search(rf'<span class="tier-icon" aria-hidden="true">{icon}</span>\s*{label}', body), label


def test_flt3_itd_makes_gilteritinib_preferred(client):
    before = live(client, post_data()).content.decode()
    after = live(client, post_data(build(YOUNG_FIT, **{"genetics.flt3_itd": True}))).content.decode()
    assert tier_of(before, "gilteritinib") == "not_recommended"
    assert tier_of(after, "gilteritinib") == "preferred"
    assert "Target: FLT3-ITD" in after


def test_article_disagreements_are_visible(client):
    """Where DT20 and FRC25 differ, both views are shown (some workup makes the engine report one)."""
    workups = [
        build(YOUNG_FIT, **{"disease.cr1_duration_months": 4, "genetics.eln2022_risk": "adverse"}),
        build(YOUNG_FIT, **{"genetics.idh2": True}),
        build(YOUNG_FIT, **{"disease.cr1_duration_months": 4, "genetics.tp53": True}),
    ]
    from aml_salvage import services

    for workup in workups:
        result = services.consult_evaluate(workup=services.workup_parse(data=workup))
        if any(o.views for o in result.options):
            body = live(client, post_data(workup)).content.decode()
            assert "The articles differ:" in body
            return
    pytest.fail("none of these workups produces an article disagreement any more: pick one that does")


# --- errors beside the field, nothing typed lost -----------------------------------------------------------

def test_htmx_error_is_shown_beside_the_field_in_words(client):
    body = live(client, post_data(build(YOUNG_FIT, **{"patient.age_years": 15}))).content.decode()
    assert MSG_ADULTS_ONLY in field_error(body, "age_years")
    assert "data-option=" not in body, "no result while the workup is invalid"
    assert "No result yet" in body
    assert "to correct" in body  # the live status line


def test_htmx_fields_not_yet_filled_are_listed_not_flagged(client):
    body = live(client, {"age_years": "44", "disease_status": "relapse", "relapse_number": "1",
                         "jurisdiction": "CA", "bsa_formula": "mosteller", "creatinine_unit": "umol/L",
                         "cyp3a4_inhibitor": "none"}).content.decode()
    assert 'id="err-sex"' not in body  # untouched: not flagged beside the input yet
    assert "Still needed" in body
    assert '<a href="#id_sex">Sex</a>' in body
    assert '<a href="#id_cr1_duration_months">' in body  # required for relapse, said in the panel


def test_plain_submit_shows_errors_beside_fields_and_keeps_typed_values(client):
    data = post_data(build(YOUNG_FIT, **{"patient.age_years": 15}))
    data["other_mutations"] = "DNMT3A, W T1!"
    response = client.post(reverse("workspace"), data)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body
    assert MSG_ADULTS_ONLY in field_error(body, "age_years")
    assert re.search(r'<input type="number" name="age_years" value="15"[^>]*aria-invalid="true"', body)
    assert 'value="DNMT3A, W T1!"' in body
    assert "not a valid gene symbol" in field_error(body, "other_mutations")
    assert "‘T1!’" in field_error(body, "other_mutations")


def test_contradiction_is_shown_beside_the_field_to_correct(client):
    data = post_data(build(YOUNG_FIT, **{"disease.months_since_hct": 6}))
    body = client.post(reverse("workspace"), data).content.decode()
    assert "prior allogeneic HCT is not ticked" in field_error(body, "months_since_hct")


def test_text_that_is_not_a_number_is_refused_in_words(client):
    data = post_data()
    data["height_cm"] = "165 cm"
    body = live(client, data).content.decode()
    assert "Enter a number" in field_error(body, "height_cm")


def test_creatinine_units_are_converted_and_checked(client):
    in_umol = live(client, post_data()).content.decode()
    in_mg = live(client, post_data(build(YOUNG_FIT, **{"patient.creatinine": {"value": 0.905, "unit": "mg/dL"}})))
    assert re.search(r"CrCl</dt>\s*<dd>\s*86 mL/min", in_umol)
    assert re.search(r"CrCl</dt>\s*<dd>\s*86 mL/min", in_mg.content.decode())
    wrong_unit = post_data(build(YOUNG_FIT, **{"patient.creatinine": {"value": 80, "unit": "mg/dL"}}))
    assert "check the value and the unit" in field_error(live(client, wrong_unit).content.decode(), "creatinine_value")


def test_empty_creatinine_means_renal_function_not_assessed(client):
    body = live(client, post_data(build(YOUNG_FIT, **{"patient.creatinine": None}))).content.decode()
    assert "not assessed" in body


# --- without JavaScript -------------------------------------------------------------------------------------

def test_plain_submit_renders_the_same_result_as_the_live_update(client):
    page = client.post(reverse("workspace"), post_data()).content.decode()
    fragment = live(client, post_data()).content.decode()
    assert "<html" in page and 'name="age_years"' in page
    for option_id in OPTION_IDS:
        assert tier_of(page, option_id) == tier_of(fragment, option_id)
    assert "Update result" in page and 'formaction="/consults/new/"' in page


# --- each option's detail, loaded when opened --------------------------------------------------------------

def workup_token_of(body: str) -> str:
    """The signed workup the result's head carries, which the panel's requests for more send (workspace.js)."""
    match = re.search(r'<div id="result-head" class="result-head" data-workup-token="([^"]+)"', body)
    assert match, "the result's head carries its workup token"
    return match.group(1)


def option_block(body: str, option_id: str) -> str:
    start = body.index(f'id="option-{option_id}"')
    start = body.rindex("<", 0, start)
    ends = (body.find('<article class="option', start + 1), body.find('<details class="option ', start + 1),
            body.find('<li class="option ', start + 1), body.find("</section>", start))
    end = min(i for i in ends if i > 0)
    return body[start:end]


def test_live_update_shows_what_ranks_each_option_and_loads_the_rest_on_demand(client):
    body = live(client, post_data()).content.decode()
    token = workup_token_of(body)
    assert token
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    assert {o.tier for o in result.options} >= {"preferred", "alternative", "consider", "not_recommended"}
    for option in result.options:
        block = option_block(body, option.id)
        url = reverse(URL_NAME, args=[option.id])
        assert 'class="evidence-table"' not in block, option.id  # the full table loads on demand
        if option.tier == "not_recommended":
            assert "hx-get" not in block and 'class="dose-table"' not in block
            assert reverse("regimen_detail", args=[option.id]) in block
        else:
            assert f'hx-get="{url}" hx-trigger="toggle once"' in block, option.id
            for ev in option.evidence:  # one line per record: study, response, n
                assert escape(ev.study) in block, (option.id, ev.study)
            if not option.evidence:
                assert 'class="evidence-note"' in block
            # The preferred options' doses (with their basis) and warnings are in the panel; the others' load.
            shown = option.tier == "preferred"
            assert ('class="dose-table"' in block) == (shown and bool(option.doses)), option.id
            assert ('class="warnings"' in block) == (shown and bool(option.warning_details)), option.id
        # Never hidden: the tier, every rule id and its reason, and the availability are in the panel.
        assert f'data-tier="{option.tier}"' in block
        for rule in option.rules:
            assert rule.rule_id in block and escape(rule.text) in block, (option.id, rule.rule_id)
        assert f"({option.availability_detail.jurisdiction})" in block


def test_the_live_panel_and_each_detail_list_the_references_they_cite(client):
    body = live(client, post_data()).content.decode()
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    by_number = {r.number: r for r in result.references}
    panel, listed = body.split('<section class="result-section references"')
    listed_numbers = {int(n) for n in re.findall(r'<li value="(\d+)">', listed)}
    cited = {int(n) for group in re.findall(r"\[(\d+(?:, \d+)*)\]", panel) for n in group.split(", ")}
    assert cited and cited == listed_numbers  # every number cited resolves; nothing uncited is listed
    assert len(listed_numbers) < len(result.references)
    token = workup_token_of(body)
    option = next(o for o in result.options if o.tier == "alternative" and o.evidence)
    detail = client.get(reverse(URL_NAME, args=[option.id]), **HX, **{TOKEN_META: token}).content.decode()
    content, refs = detail.split('<div class="detail-references">')
    for ev in option.evidence:
        number = next(n for n, r in by_number.items() if r.id == ev.reference)
        assert f"[{number}]" in content and f'<li value="{number}">' in refs


def test_on_demand_detail_of_a_preferred_option_has_the_full_evidence_but_not_the_doses_twice(client):
    body = live(client, post_data()).content.decode()
    token = workup_token_of(body)
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    preferred = next(o for o in result.options if o.tier == "preferred" and o.doses and o.evidence)
    detail = client.get(reverse(URL_NAME, args=[preferred.id]), **HX, **{TOKEN_META: token}).content.decode()
    assert 'class="evidence-table"' in detail and 'class="option-summary"' in detail
    assert 'class="dose-table"' not in detail and 'class="warnings"' not in detail  # already in the card


def test_on_demand_detail_shows_evidence_doses_and_warnings_numbered_as_in_the_panel(client):
    data = build(YOUNG_FIT, **{"genetics.flt3_itd": True})
    panel = live(client, post_data(data)).content.decode()
    token = workup_token_of(panel)
    result = services.consult_evaluate(workup=services.workup_parse(data=data))
    numbers = {r.id: r.number for r in result.references}
    consider = next(o for o in result.options if o.tier == "consider" and o.evidence and o.doses)
    response = client.get(reverse(URL_NAME, args=[consider.id]), **HX, **{TOKEN_META: token})
    assert response.status_code == 200
    detail = response.content.decode()
    assert 'class="evidence-table"' in detail and 'class="dose-table"' in detail
    assert "<html" not in detail
    for ev in consider.evidence:
        assert f"[{numbers[ev.reference]}]" in detail  # the same numbering as the panel's reference list
    for w in consider.warning_details:
        assert escape(w.text) in detail
    assert "Doses for this patient" in detail


def test_on_demand_detail_of_a_not_recommended_option_has_its_summary_availability_and_library_link(client):
    panel = live(client, post_data()).content.decode()
    token = workup_token_of(panel)
    detail = client.get(reverse(URL_NAME, args=["gilteritinib"]), **HX, **{TOKEN_META: token}).content.decode()
    assert 'class="option-summary"' in detail
    assert reverse("regimen_detail", args=["gilteritinib"]) in detail
    assert 'class="dose-table"' not in detail  # not recommended: not dosed


def test_on_demand_detail_refuses_a_forged_expired_or_foreign_token(client, teammate):
    workup = services.workup_parse(data=YOUNG_FIT)
    url = reverse(URL_NAME, args=["hma"])
    name = TOKEN_META
    for token in ("", "not-a-token", workup_token(workup=workup, user=teammate)):
        response = client.get(url, **HX, **{name: token})
        assert response.status_code == 200 and "update the result" in response.content.decode()
        assert "evidence-table" not in response.content.decode()
    assert client.get(url, **{name: "not-a-token"}).status_code == 400  # without htmx: a plain error
    own = workup_token(workup=workup, user=client.get(reverse("workspace")).wsgi_request.user)
    assert client.get(reverse(URL_NAME, args=["no-such-option"]), **HX, **{name: own}).status_code == 404


# --- a live card's body is rendered from what its key covers ---------------------------------------------


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_a_live_card_body_is_what_the_template_renders_for_the_full_option(case):
    """A live card's body is rendered from the content its key covers (aml_salvage/live_cards.py), the doses
    and warnings no body shows left out: it must be byte for byte the template's rendering of the full option
    (inside the element that carries its key), or the key would miss something the body shows."""
    from django.template import engines

    from aml_salvage import jinja_env
    from aml_salvage.presentation import consult_view, view_context

    env = engines["jinja2"].env
    result = services.consult_evaluate(workup=services.workup_parse(data=load_case(case)["workup"]))
    view = consult_view(result=result, parameters=services.knowledge_get().parameters)
    context = {**view_context(view), "chosen_option_id": "hma"}
    for card in view.options:
        option = card.option
        template = env.get_template(jinja_env.LIVE_CARD_TEMPLATES.get(option.tier, jinja_env.LIVE_CARD_TEMPLATE))
        plain = template.render({**context, "option": option, "dosed": bool(option.doses)})
        body = env.from_string("{{ live_card(option) }}").render({**context, "option": option})
        assert card_body(body) == plain, option.id
