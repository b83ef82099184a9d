"""The decision sheet's short forms (presentation/sheet.py): a headline never cuts a word and says when it is
shortened; the sheet's dose table keeps every figure, status and adjustment, states the shared basis once and
numbers only the long notes."""

from __future__ import annotations

import pytest

from aml_salvage import services
from aml_salvage.presentation import dose_table
from aml_salvage.presentation.sheet import ELLIPSIS, NOTE_INLINE_CHARS, headline, sheet_doses
from tests.factories import YOUNG_FIT, case_files, load_case


def test_a_headline_is_the_first_sentence_when_it_fits():
    text = ("Cytarabine ≥1 g/m²: cerebellar toxicity. Risk factors: renal impairment, age ≥40–50 years "
            "(Rubin 1992). The label gives no dose algorithm.")
    assert headline(text) == "Cytarabine ≥1 g/m²: cerebellar toxicity."


def test_a_sentence_does_not_end_at_an_abbreviation_or_a_decimal():
    text = "Assess cerebellar function (e.g. nystagmus, ataxia) before each dose. Stop at the first sign."
    assert headline(text) == "Assess cerebellar function (e.g. nystagmus, ataxia) before each dose."
    assert headline("Median OS 9.3 vs. 5.6 months in ADMIRAL. More.") == "Median OS 9.3 vs. 5.6 months in ADMIRAL."


def test_a_long_sentence_is_cut_after_its_last_whole_clause_with_an_ellipsis():
    text = ("FLAG-IDA: infectious complications and mucositis were common; induction mortality 6.6% "
            "(Pastore 2003, reported in FRC25).")
    assert headline(text, 85) == f"FLAG-IDA: infectious complications and mucositis were common {ELLIPSIS}"


def test_without_a_later_clause_the_cut_falls_at_the_colon_clause():
    text = ("Tumor lysis syndrome with venetoclax: prophylaxis with hydration and an anti-hyperuricemic agent "
            "before the first dose and blood chemistries after each new ramp-up dose.")
    assert headline(text, 60) == f"Tumor lysis syndrome with venetoclax {ELLIPSIS}"


def test_a_cut_never_falls_inside_brackets():
    text = ("Venetoclax with CYP3A or P-gp inhibitors (azole prophylaxis is routine in AML, posaconazole "
            "included) needs the label's dose reduction.")
    short = headline(text, 70)
    assert short == f"Venetoclax with CYP3A or P-gp inhibitors {ELLIPSIS}"


@pytest.mark.parametrize("limit", [20, 33, 47, 61, 85, 110])
def test_a_headline_never_cuts_a_word_and_stays_within_its_limit(limit):
    text = ("Intensive salvage prolonged cytopenias classical cytarabine less often median response duration "
            "typically under one year plan consolidation or transplant early whatever happens next")
    short = headline(text, limit)
    assert short.endswith(f" {ELLIPSIS}") and len(short) <= limit + 2
    kept = short.removesuffix(f" {ELLIPSIS}")
    assert text.startswith(kept) and text[len(kept)] == " ", "cut at a word boundary"


def _flag_ida():
    result = services.consult_evaluate(workup=services.workup_parse(data=YOUNG_FIT))
    return next(o for o in result.options if o.id == "flag-ida")


def test_the_sheets_dose_table_keeps_every_line_figure_and_status_and_states_the_shared_basis_once():
    table = dose_table(_flag_ida())
    sheet = sheet_doses(table)
    assert [s.row for s in sheet.lines] == table.lines  # every line, in order, the engine's figures
    assert sheet.shared_basis and sheet.shared_basis.startswith("BSA")
    for s in sheet.lines:
        assert s.basis in (None, s.row.basis) and (s.basis is None) == (s.row.basis == sheet.shared_basis)
        assert s.dose_figure + (f" {s.dose_exact}" if s.dose_exact else "") == s.row.patient_dose
    filgrastim = next(s for s in sheet.lines if s.row.line.drug == "filgrastim")
    assert filgrastim.basis and "weight" in filgrastim.basis  # weight-based: names its own basis


def test_long_dose_notes_are_numbered_once_and_short_ones_stay_on_their_line():
    sheet = sheet_doses(dose_table(_flag_ida()))
    numbered = {n.number: n for n in sheet.notes}
    assert sorted(numbered) == list(range(1, len(numbered) + 1)) and numbered
    for s in sheet.lines:
        for note in s.row.notes:
            if len(note) > NOTE_INLINE_CHARS:
                assert any(numbered[n].text == note for n in s.note_numbers)
            else:
                assert note in s.notes
    assert any("Canadian" in n.text for n in sheet.notes)  # the fludarabine monograph paragraph


@pytest.mark.parametrize("path", case_files(), ids=[p.stem for p in case_files()])
def test_no_adjustment_or_not_assessed_item_is_shortened_away(path):
    result = services.consult_evaluate(workup=services.workup_parse(data=load_case(path)["workup"]))
    for option in result.options:
        table = dose_table(option)
        if table is None:
            continue
        sheet = sheet_doses(table)
        assert len(sheet.lines) == len(table.lines)
        for s, row in zip(sheet.lines, table.lines, strict=True):
            assert s.row is row  # the status and what was not assessed are the table's own, untouched
            assert sorted(s.adjustments + s.adjustments_above) == sorted(row.adjustments)
