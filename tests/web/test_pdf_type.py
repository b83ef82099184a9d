"""The printed consult a hematologist signs, measured with a PDF library (pdfplumber): type sizes, what page 1
carries (the whole decision sheet, signatures included, for every worked case), page 2 (every option at a glance
and its vector chart, whole), the appendix carrying in full what page 1 shortens, and the superseded and draft
markings on every page.

Renders come from tests/web/test_pdf.py's per-session cache where they are the same documents.
"""

from __future__ import annotations

import functools
import re
from io import BytesIO

import pdfplumber
import pytest
from django.urls import reverse

from aml_salvage import pdf, services
from aml_salvage.models import AuditEvent
from aml_salvage.presentation import dose_table
from aml_salvage.presentation.sheet import headline, sheet_doses
from tests.factories import load_case
from tests.web.conftest import post_data, saved_consult
from tests.web.test_pdf import CASES, FLT3, _case_path, _meta, _summary, flat

MM = 72 / 25.4
# Page furniture (running header and footer) sits in the margins; page 1's are 10 mm at the top and 9 mm at the
# bottom (print/base.html, @page :first). Body characters are the ones between them.
TOP_MARGIN, BOTTOM_MARGIN = 10 * MM, 9 * MM
BODY_MIN, DOSE_MIN, ANY_MIN = 10.0, 11.0, 8.0
TOLERANCE = 0.05  # PDF font sizes are floats
SUPERSEDED = "SUPERSEDED by consult #31 on 2026-03-05 10:15 EST"
DRAFT = "DRAFT — not saved, not for the chart"


@functools.cache
def _pages(document: bytes) -> tuple[pdfplumber.page.Page, ...]:
    """A document's pages, parsed once: the type-size, page-1 and page-2 tests read the same cached render of
    each worked case, and parsing (with its text layout) cost more than the render. Tests only read pages."""
    return tuple(pdfplumber.open(BytesIO(document)).pages)


def _body_chars(page) -> list[dict]:
    return [c for c in page.chars if c["top"] > TOP_MARGIN and c["bottom"] < page.height - BOTTOM_MARGIN
            and c["text"].strip()]


@functools.cache
def _text(page) -> str:
    return flat(page.extract_text() or "")


@functools.cache
def _mec_chosen():
    """DT20 Patient 1 (FLT3-ITD) with MEC chosen: an alternative, not the first preferred option."""
    return _summary(FLT3, chosen_option_id="mec", chosen_option_name="MEC", chosen_option_tier="alternative",
                    override_reason="Gilteritinib not funded for this patient; MEC as a bridge to transplant.",
                    consult_id=17)


YOUNG_FIT = "dt20-patient1-early-relapse-young-fit"  # FLAG-IDA on the sheet: long warnings and dose notes


# --- Type sizes -----------------------------------------------------------------------------------------

def test_page_one_body_is_at_least_10_pt_and_the_patients_doses_11_pt_bold():
    s = _mec_chosen()
    page = _pages(s.pdf)[0]
    small = {(c["text"], round(c["size"], 2)) for c in _body_chars(page) if c["size"] < BODY_MIN - TOLERANCE}
    assert not small, f"page 1 body characters under {BODY_MIN} pt: {sorted(small)[:10]}"
    mec = next(o for o in s.result.options if o.id == "mec")
    words = page.extract_words(extra_attrs=["size", "fontname"], keep_blank_chars=False)
    for row in dose_table(mec).lines:
        figure = row.patient_dose.split(" ")[0]  # '22' of '22 mg (exact 21.6 mg)'
        sized = [w for w in words if w["text"] == figure]
        assert sized, f"{row.patient_dose}: not on page 1"
        assert any(w["size"] >= DOSE_MIN - TOLERANCE and "Bold" in w["fontname"] for w in sized), (
            f"{row.patient_dose}: {[(w['size'], w['fontname']) for w in sized]}")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_no_character_anywhere_is_under_8_pt(path):
    for number, page in enumerate(_pages(_summary(path.stem).pdf), start=1):
        small = sorted({(c["text"], round(c["size"], 2)) for c in page.chars if c["size"] < ANY_MIN - TOLERANCE})
        assert not small, f"page {number}: {small[:10]}"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_decision_sheet_is_page_1_whole_at_10_pt_with_its_dose_table_and_three_signature_blocks(path):
    s = _summary(path.stem)
    pages = _pages(s.pdf)
    first = _text(pages[0])
    small = {c["text"] for c in _body_chars(pages[0]) if c["size"] < BODY_MIN - TOLERANCE}
    assert not small, f"page 1 body characters under {BODY_MIN} pt: {sorted(small)[:10]}"
    assert "decision sheet" in first and "Doses for this patient" in first
    for role in ("Prescriber", "Second clinician", "Pharmacist"):
        assert role in first, role
    assert first.count("Signature") == 3 and first.count("Date / time") == 3
    option = s.result.options[0]  # no option chosen: the sheet shows the rules' first
    table = dose_table(option)
    for line in (sheet_doses(table).lines if table else []):
        assert line.dose_figure in first, (option.id, line.row.patient_dose)
        assert line.row.line.days.split(",")[0] in first  # 'D1-28, continuous' may wrap in its column
    rest = " ".join(_text(p) for p in pages[1:])
    assert "Pharmacist (check)" not in rest and "Date / time" not in rest  # nothing of the sheet runs over


# --- Page 1: the chosen option first ---------------------------------------------------------------------

def test_a_chosen_alternative_prints_its_dose_table_on_page_1_not_the_preferred_options():
    s = _mec_chosen()
    first = _text(_pages(s.pdf)[0])
    assert s.result.options[0].id == "gilteritinib"  # the first preferred option is not the one chosen
    assert "Chosen option ALTERNATIVE MEC" in first
    assert "Override reason (not the preferred option): Gilteritinib not funded" in first
    mec = next(o for o in s.result.options if o.id == "mec")
    for line in sheet_doses(dose_table(mec)).lines:  # each line: drug, regimen dose, the patient's dose, status
        for shown in (line.row.line.drug, line.row.regimen_dose, line.dose_figure, line.dose_exact, "STANDARD"):
            assert shown in first, (line.row.line.drug, shown)
    assert "Basis Height 165 cm, weight 60 kg, BSA 1.66 m² (Mosteller); CrCl 86 mL/min" in first
    assert "Each line unless it names its own: BSA 1.66 m² (Mosteller" in first  # stated once, not per line
    assert "gilteritinib 120 mg" not in first  # the preferred option's doses are not on the sheet


def test_the_sheet_carries_clinician_identifier_times_kb_label_box_and_three_signature_blocks():
    s = _mec_chosen()
    pages = _pages(s.pdf)
    first = _text(pages[0])
    for expected in ("Patient identifier MRN 0012345 · 30 y · female", "Clinician Dr. Ada Hematologist",
                     "Consult #17 · saved 2026-03-02 09:30 EST", "Hospital patient label"):
        assert expected in first, expected
    kb = re.escape(s.result.kb_version)
    assert re.search(rf"Printed \d{{4}}-\d{{2}}-\d{{2}} \d{{2}}:\d{{2}} E[SD]T · KB {kb}", first)
    for role in ("Prescriber", "Second clinician (check)", "Pharmacist (check)"):  # the three blocks side by side
        assert role in first
    assert "Name Dr. Ada Hematologist" in first  # the prescriber's printed name, filled in
    assert first.count("Signature") == 3 and first.count("Date / time") == 3


def test_the_monitoring_plan_is_cited_and_says_what_the_knowledge_base_does_not_state():
    s = _summary(FLT3)  # gilteritinib on the sheet
    pages = _pages(s.pdf)
    first = _text(pages[0])
    ecg = "ECG at baseline, on cycle 1 day 8 and day 15, and before the start of each of the next two cycles."
    number = next(r.number for r in s.result.references if r.id == "label-xospata")
    assert f"ECG / QTc schedule: {ecg} [{number}]" in first  # a short item: whole on the sheet, cited
    assert "Not in the knowledge base for this option (follow the label and the institution's protocol): " \
        "Tumour lysis laboratory schedule; Marrow assessment timing." in first
    appendix = " ".join(_text(p) for p in pages[2:])
    assert "MONITORING PLAN IN FULL" in appendix and ecg in appendix  # appendix headings print in capitals


# --- Every option at a glance -------------------------------------------------------------------------

@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_page_2_holds_every_option_at_a_glance_and_its_vector_chart_and_nothing_of_it_is_elsewhere(path):
    """Page 2, as the issue words it: every option's row, the chart and the metrics' definitions, on ONE page;
    the appendix starts on page 3."""
    s = _summary(path.stem)
    pages = _pages(s.pdf)
    page = pages[1]
    text = _text(page)
    assert text.startswith(f"Patient MRN 0012345 Every option at a glance ({len(s.result.options)} options)")
    others = " ".join(_text(p) for i, p in enumerate(pages) if i != 1)
    for piece in ("Every option at a glance", "Metrics as reported:", "The chart: the", "Response as reported"):
        assert piece not in others, piece
    # The option column, read on its own (a name may wrap onto a second line of its row).
    words = page.extract_words()
    left = next(w["x0"] for w in words if w["text"] == "Option")
    right = next(w["x0"] for w in words if w["text"] == "Availability")
    column = flat(page.crop((left - 1, 0, right - 1, page.height)).extract_text())
    for option in s.result.options:
        assert flat(option.name) in column, f"{option.id}: no row on the at-a-glance page"
    # The chart on the same page: one vector bar or more per option with a figure, plus a gridline per tick
    # (SVG text is not read back reliably, the drawing is), then every metric's definition.
    with_figure = [o for o in s.result.options if any(
        ev.value_pct is not None or ev.median_os_months is not None for ev in o.evidence)]
    bars = [r for r in page.rects if r["height"] < 7]
    gridlines = [ln for ln in page.lines if ln["x0"] == ln["x1"]]
    assert len(bars) >= len(with_figure), "one bar at least per option with a figure, drawn as vectors"
    assert len(gridlines) >= 6, "the axes' gridlines are drawn as vectors"
    assert f"The chart: the {len(with_figure)} options with a figure; the others have none" in text
    assert "Metrics as reported:" in text and text.rstrip().endswith(f"Page 2 of {len(pages)}")
    assert "Appendix —" in _text(pages[2])  # the appendix starts on page 3
    assert not any(p.images for p in pages), "no raster image anywhere: the chart is SVG"


def test_a_chosen_alternatives_sheet_is_page_1_and_the_comparison_page_2():
    pages = _pages(_mec_chosen().pdf)
    first = _text(pages[0])
    assert "Doses for this patient" in first and "Rounding of mg/m² doses" in first  # the whole table on page 1
    assert "Pharmacist" in first
    glance = _text(pages[1])
    assert "Every option at a glance (28 options)" in glance and "MEC Chosen" in glance


# --- What page 1 shortens, the appendix prints in full ----------------------------------------------------

def test_the_sheet_prints_warning_headlines_and_the_appendix_their_full_text_and_the_dose_notes():
    """FLAG-IDA for the young fit patient: the cytarabine cerebellar warning is a headline with its W number on
    page 1 and whole in 'Warnings in full'; each long dose note is a pointer (N1...) on page 1, whole in 'Dose
    notes in full'."""
    s = _summary(YOUNG_FIT)
    pages = _pages(s.pdf)
    first = _text(pages[0])
    appendix = flat(" ".join(p.extract_text() for p in pages[2:]))
    flag_ida = s.result.options[0]
    assert flag_ida.id == "flag-ida"
    cerebellar = next(w for w in flag_ida.warning_details if "cerebellar" in w.text)
    assert headline(cerebellar.text) == "Cytarabine ≥1 g/m²: cerebellar toxicity."
    assert "Cytarabine ≥1 g/m²: cerebellar toxicity." in first
    assert flat(cerebellar.text) not in flat(first), "page 1 carries the headline, not the whole warning"
    assert "WARNINGS IN FULL" in appendix and flat(cerebellar.text) in appendix  # headings print in capitals
    number = re.search(r"cerebellar toxicity\. \[[\d, ]+\] W(\d+)", first).group(1)
    assert re.search(rf"W{number} MAJOR {re.escape(flat(cerebellar.text))}", appendix)
    notes = sheet_doses(dose_table(flag_ida)).notes
    assert notes, "the fludarabine and cytarabine label notes are long: numbered on the sheet"
    assert "DOSE NOTES IN FULL" in appendix
    for note in notes:
        assert f"N{note.number}" in first and flat(f"N{note.number} ({note.lines}): {note.text}") in appendix
        assert flat(note.text) not in flat(first)
    assert s.result.disclaimer in flat(" ".join(p.extract_text() for p in pages[2:4]))  # About this consult


# --- Superseded and draft: every page -----------------------------------------------------------------

@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_a_superseded_consult_prints_the_banner_on_every_page_and_its_sheet_still_on_page_1(path):
    """The banner box on page 1 (the draft's is the same size) leaves the sheet whole on page 1 and the
    comparison on page 2."""
    s = _summary(path.stem, consult_id=17, superseded_by=31, superseded_on="2026-03-05T15:15:00+00:00")
    pages = _pages(s.pdf)
    assert "Pharmacist (check)" in _text(pages[0]) and "Metrics as reported:" in _text(pages[1])
    for number, page in enumerate(pages, start=1):
        assert SUPERSEDED in _text(page), f"page {number}"


def test_the_saved_consult_pdf_and_page_say_superseded_once_it_is_revised(client_for, author):
    original = saved_consult(author, patient_identifier="MRN-2002")
    later = saved_consult(author, patient_identifier="MRN-2002", revision_of=original)
    client = client_for(author)
    response = client.get(reverse("consult_pdf", args=[original.pk]))
    banner = f"SUPERSEDED by consult #{later.pk} on "
    pages = _pages(response.content)
    for number, page in enumerate(pages, start=1):
        assert banner in _text(page), f"page {number}"
    page = client.get(reverse("consult_detail", args=[original.pk])).content.decode()
    assert page.index("superseded-banner") < page.index("<h1")  # at the top
    assert f"consult #{later.pk}</a>" in page
    # The revision itself is current: no banner.
    assert banner not in _text(_pages(client.get(reverse("consult_pdf", args=[later.pk])).content)[0])


def test_the_draft_carries_the_watermark_identifier_clinician_and_time_on_every_page(client_for, author):
    author.first_name, author.last_name = "Alice", "Moreau"
    author.save()
    data = post_data(patient_identifier="MRN-3003", chosen_option_id="aza-ven",
                     override_reason="Declines intensive chemotherapy.")
    response = client_for(author).post(reverse("print_draft"), data)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "MRN" not in response["Content-Disposition"]
    pages = _pages(response.content)
    for number, page in enumerate(pages, start=1):
        text = _text(page)
        assert DRAFT in text and "Patient MRN-3003" in text, f"page {number}"
    first = _text(pages[0])
    assert "Clinician Alice Moreau" in first and "not saved (draft)" in first
    assert "Chosen option ALTERNATIVE Azacitidine + venetoclax" in first  # not the rules' first (FLAG-IDA)
    assert "Override reason (not the preferred option): Declines intensive chemotherapy." in first
    event = AuditEvent.objects.get(action="draft_printed")  # audited: who, from where, for which identifier
    assert (event.user, event.consult, event.ip_address, event.detail) == (
        author, None, "127.0.0.1", "patient identifier MRN-3003")


def test_a_draft_without_an_identifier_is_audited_as_such(client_for, author):
    response = client_for(author).post(reverse("print_draft"), post_data(patient_identifier=""))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="draft_printed")
    assert (event.user, event.consult, event.detail) == (author, None, "no patient identifier")


def test_a_draft_refused_for_its_identifier_is_not_audited_as_printed(client_for, author):
    client_for(author).post(reverse("print_draft"), post_data(patient_identifier="Jane Doe"))
    assert not AuditEvent.objects.filter(action="draft_printed").exists()


def test_an_invalid_workup_gets_a_400_naming_the_fields_never_a_500(client_for, author):
    data = post_data(patient_identifier="MRN-3003")
    data["age_years"] = "12"
    data["height_cm"] = ""
    response = client_for(author).post(reverse("print_draft"), data)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Draft not printed" in body and "Age" in body and "Height" in body


def test_a_malformed_identifier_on_a_draft_is_named(client_for, author):
    response = client_for(author).post(reverse("print_draft"), post_data(patient_identifier="Jane Doe"))
    assert response.status_code == 400 and "Patient identifier" in response.content.decode()


def test_the_draft_needs_sign_in_and_a_post(client, client_for, author):
    assert client.post(reverse("print_draft"), post_data()).status_code == 302
    assert client_for(author).get(reverse("print_draft")).status_code == 405


def test_the_workspace_has_a_print_draft_button_opening_a_new_tab(client_for, author):
    page = client_for(author).get(reverse("workspace")).content.decode()
    assert f'formaction="{reverse("print_draft")}" formtarget="_blank">Print draft</button>' in page


def test_html_of_a_draft_is_the_same_sheet(settings):
    workup = services.workup_parse(data=load_case(_case_path(FLT3))["workup"])
    meta = pdf.consult_meta_build(workup=workup, draft=True, patient_identifier="MRN 1")
    html = pdf.render_consult_html(result=services.consult_evaluate(workup=workup), workup=workup, meta=meta)
    assert DRAFT in html and "decision sheet" in html


def test_a_consult_computed_with_an_earlier_knowledge_base_says_where_its_monitoring_plan_comes_from():
    workup = services.workup_parse(data=load_case(_case_path(FLT3))["workup"])
    result = services.consult_evaluate(workup=workup)
    current = result.kb_version
    saved = result.model_copy(update={"kb_version": "2025.1.1"})
    html = pdf.render_consult_html(result=saved, workup=workup, meta=_meta(workup))
    assert f"From knowledge base {current}</b> (the current one); this consult was computed with 2025.1.1." in html
    fresh = pdf.render_consult_html(result=result, workup=workup, meta=_meta(workup))
    assert "From knowledge base" not in fresh
