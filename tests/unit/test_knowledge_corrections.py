"""Knowledge-base corrections from the issue 11 review: the records say what the sources print, boxed
warnings are boxed, and no sentence a clinician sees cites our own working documents."""

from pydantic import BaseModel

from aml_salvage.presentation import evidence_os


def _evidence(kb, regimen_id, evidence_id):
    return next(e for e in kb.regimens[regimen_id].evidence if e.id == evidence_id)


# --- MEC: the printed survival figures, not a conversion ---------------------------------------------------

def test_mec_median_os_is_the_figure_frc25_table_1_prints(kb):
    ev = _evidence(kb, "mec", "mec-amadori-1991")
    assert ev.median_os_months == 4  # FRC25 Table 1: 4 (0.5–29.5) months
    assert "4 (0.5–29.5) months" in ev.median_os_detail
    assert "36 weeks" in ev.median_os_detail  # the FRC25 text, printed beside it
    assert "8.3" not in ev.median_os_detail  # our old weeks→months conversion is gone
    assert ev.uncertain  # the two printed figures disagree


def test_mec_secondary_figures_keep_both_printed_values(kb):
    ev = _evidence(kb, "mec", "mec-amadori-1991")
    figures = {(s.value, s.source) for s in ev.secondary}
    assert ("4 (0.5–29.5) months", "FRC25 Table 1") in figures
    assert ("36 weeks", "FRC25 text") in figures


def test_mec_evidence_os_shows_only_printed_figures(kb, evaluate):
    from tests.factories import YOUNG_FIT

    result = evaluate(YOUNG_FIT)
    mec = next(o for o in result.options if o.id == "mec")
    ev = next(e for e in mec.evidence if e.id == "mec-amadori-1991")
    text = evidence_os(ev)
    assert text.startswith("4 months")
    assert "36 weeks" in text and "8.3" not in text


# --- revumenib QTc: boxed in the current US label -------------------------------------------------------------

def test_revumenib_qtc_warning_is_boxed(kb):
    assert "qtc-menin" in kb.regimens["revumenib"].warnings
    warning = kb.warnings["qtc-menin"]
    assert warning.severity == "boxed"
    assert "boxed warning" in warning.text and "revumenib" in warning.text.lower()
    assert warning.source == ["label-revuforj"]


# --- gemtuzumab: DT20 Table 2 says which study it cannot name ---------------------------------------------------

def test_gemtuzumab_dt20_record_says_it_cannot_name_its_study(kb):
    ev = _evidence(kb, "gemtuzumab", "gemtuzumab-dt20-table2")
    assert "not named" in ev.study.lower() and "ref 101" in ev.study
    assert ev.uncertain and ev.n is None
    assert any("cannot be named" in note for note in ev.notes)
    assert (ev.value_pct, ev.median_os_months) == (33, 8.4)  # as DT20 Table 2 prints them


# --- ziftomenib and olutasidenib: checked and recorded -----------------------------------------------------------

def test_ziftomenib_carries_its_qtc_and_cyp3a4_record(kb):
    regimen = kb.regimens["ziftomenib"]
    assert "qtc-ziftomenib" in regimen.warnings
    warning = kb.warnings["qtc-ziftomenib"]
    assert warning.severity != "boxed"  # the Komzifti boxed warning is differentiation syndrome only
    assert "QTc" in warning.text and "CYP3A4" in warning.text
    assert "could not be read" in warning.text  # what was not found is said, not invented
    step_notes = " ".join(n for s in regimen.schedules for step in s.steps for n in step.notes)
    assert "CYP3A4" in step_notes and "no CYP3A4 dose change" in step_notes
    assert all(not step.adjustments for s in regimen.schedules for step in s.steps)


def test_olutasidenib_hepatotoxicity_is_a_label_warning(kb):
    assert "olutasidenib-hepatotoxicity" in kb.regimens["olutasidenib"].warnings
    warning = kb.warnings["olutasidenib-hepatotoxicity"]
    assert warning.severity == "major"
    assert "Hepatotoxicity" in warning.text and "Warnings and Precautions" in warning.text
    assert warning.source == ["label-rezlidhia"]


def test_ziftomenib_and_olutasidenib_warnings_reach_the_consult(evaluate):
    from tests.factories import build

    result = evaluate(build(**{"genetics.npm1": True, "genetics.idh1": True}))
    zifto = next(o for o in result.options if o.id == "ziftomenib")
    oluta = next(o for o in result.options if o.id == "olutasidenib")
    assert "qtc-ziftomenib" in {w.id for w in zifto.warning_details}
    assert "olutasidenib-hepatotoxicity" in {w.id for w in oluta.warning_details}
    revumenib = next(o for o in result.options if o.id == "revumenib")
    assert {w.severity for w in revumenib.warning_details if w.id == "qtc-menin"} == {"boxed"}


# --- no internal document references in what a user sees ---------------------------------------------------------

INTERNAL = ("clinical-spec", "§", "workup-schema")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, BaseModel):
        for field in type(value).model_fields:
            yield from _strings(getattr(value, field))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _visible_strings(kb):
    for regimen in kb.regimens.values():
        for text in _strings(regimen):
            yield f"regimens/{regimen.id}", text
    for warning in kb.warnings.values():
        yield f"warnings/{warning.id}", warning.text
    for rule in kb.rules.values():
        for text in (rule.title, rule.reason, rule.attribution):
            yield f"rules/{rule.id}", text
    for ref in kb.references.values():  # what the reference lists print; `notes` are maintainers' provenance
        for text in (ref.short, ref.citation, *ref.cited_in):
            yield f"references/{ref.id}", text


def test_no_user_visible_knowledge_text_cites_our_own_documents(kb):
    offending = [(where, text) for where, text in _visible_strings(kb) if any(m in text for m in INTERNAL)]
    assert offending == []


def test_the_visible_text_scan_would_catch_a_citation_of_the_spec(kb):
    regimen = kb.regimens["mec"]
    bad = regimen.model_copy(update={"notes": [*regimen.notes, "Dose per clinical-spec §4."]})
    assert any("clinical-spec" in text for text in _strings(bad))
