"""The presentation model: repeated dose-line sentences said once, one rounding statement per unit, evidence
in one line, and no render state kept between requests."""

from __future__ import annotations

import pytest
from django.template.loader import get_template

from aml_salvage import services
from aml_salvage.presentation import SAME_AS_ABOVE, consult_view, dose_patient, dose_table, view_context
from tests.factories import YOUNG_FIT, build, case_files, load_case

POSACONAZOLE = next(p for p in case_files() if p.stem == "aza-ven-with-posaconazole")


def evaluate(data):
    return services.consult_evaluate(workup=services.workup_parse(data=data))


def view_of(result):
    return consult_view(result=result, parameters=services.knowledge_get().parameters)


def aza_ven():
    result = evaluate(load_case(POSACONAZOLE)["workup"])
    return result, next(o for o in result.options if o.id == "aza-ven")


def test_a_ramp_up_adjustment_is_written_once_and_named_on_every_line():
    _, option = aza_ven()
    ven = [line for line in option.doses if line.drug == "venetoclax"]
    assert [line.rounded for line in ven] == [10, 20, 50, 70]  # the posaconazole ramp-up (label)
    assert all(line.adjustments == ven[0].adjustments for line in ven)  # the engine repeats it on each line
    shown = [row for row in dose_table(option).lines if row.line.drug == "venetoclax"]
    assert shown[0].adjustments == ven[0].adjustments and shown[0].notes == ven[0].notes
    for row in shown[1:]:
        assert row.adjustments == [f"{SAME_AS_ABOVE} ({ven[0].days})"]  # still marked adjusted
        assert row.adjusted and row.notes == []
    assert [row.line for row in shown] == ven  # the engine's lines, unchanged


def test_other_drugs_and_differing_adjustments_keep_their_own_words():
    _, option = aza_ven()
    aza = next(row for row in dose_table(option).lines if row.line.drug == "azacitidine")
    assert aza.adjustments == aza.line.adjustments and aza.notes == aza.line.notes
    plain = next(o for o in evaluate(build(load_case(POSACONAZOLE)["workup"], **{"context.cyp3a4_inhibitor": "none"}))
                 .options if o.id == "aza-ven")
    for row in dose_table(plain).lines:  # nothing repeated, nothing changed
        assert row.adjustments == row.line.adjustments and row.notes == row.line.notes
        assert row.patient_dose == dose_patient(row.line)


def test_the_dose_table_says_as_the_line_above_and_keeps_every_dose():
    result, option = aza_ven()
    card = view_of(result).option("aza-ven")
    html = get_template("components/dose_table.html").render({"option": option, "doses": card.doses})
    assert html.count(f"{SAME_AS_ABOVE} (D1)") == 3
    assert html.count("Adjusted</span>") == 4
    for dose in ("10 mg", "20 mg", "50 mg", "70 mg"):
        assert f"<strong>{dose}</strong>" in html
    assert "Height 175 cm, weight 75 kg, BSA 1.91 m²" in html  # the basis, beside the doses


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_evidence_lines_name_the_study_metric_and_n_of_every_record(case):
    view = view_of(evaluate(load_case(case)["workup"]))
    context = view_context(view)
    template = get_template("components/evidence_lines.html")
    for card in view.options:
        option = card.option
        html = template.render({**context, "option": option})
        assert html.count("<li") == len(option.evidence)
        for ev in option.evidence:
            assert f"[{view.reference_numbers[ev.reference]}]" in html
            if ev.n:
                assert f"n={ev.n}" in html
            if ev.setting != "R/R":
                assert f"({ev.setting})" in html


def test_a_rounding_rule_shared_by_every_line_of_a_unit_is_stated_once_under_the_table():
    result = evaluate(YOUNG_FIT)
    card = view_of(result).option("mec")
    mec = card.option
    per_m2 = [line for line in mec.doses if line.unit == "mg/m2"]
    assert len(per_m2) >= 2 and len({line.rounding for line in per_m2}) == 1
    html = get_template("components/dose_table.html").render({"option": mec, "doses": card.doses})
    assert html.count(per_m2[0].rounding) == 1  # once, in the table's footer
    assert f"Rounding of mg/m² doses: {per_m2[0].rounding}." in html
    assert html.count("; rounding:") == len(mec.doses) - len(per_m2)  # any other line keeps its own rule
    for line in mec.doses:  # every dose and its basis (BSA, height, weight) is still on its line
        assert f"<strong>{dose_patient(line)}</strong>" in html and line.basis in html


def test_a_single_line_keeps_its_rounding_rule_on_the_line():
    _, option = aza_ven()
    aza = [line for line in option.doses if line.drug == "azacitidine"]
    assert len(aza) == 1
    table = dose_table(option)
    assert next(row for row in table.lines if row.line.drug == "azacitidine").rounding == aza[0].rounding
    assert [which for which, _ in table.rounding] == ["mg doses"]  # the four flat venetoclax lines


def test_the_model_is_the_same_for_the_same_result():
    """Built by a pure function: no state kept between two builds (no render cache, no citation record)."""
    result, _ = aza_ven()
    assert view_of(result) == view_of(result)
