"""Every option at a glance and the monitoring plan: one row per option with its metric as reported, a chart
that marks figures to verify and escapes what it prints, and a monitoring plan that is cited and says what
the knowledge base does not state."""

from __future__ import annotations

import shutil

import pytest
import yaml

from aml_salvage import services
from aml_salvage.domain.knowledge import KnowledgeError, knowledge_load
from aml_salvage.presentation import glance_build, monitoring_plan
from aml_salvage.presentation.glance import BAR, UNCERTAIN_CHART, glance_evidence
from tests.factories import case_files, load_case

FLT3 = next(p for p in case_files() if p.stem == "dt20-patient1-flt3-itd")


def flt3_result():
    return services.consult_evaluate(workup=services.workup_parse(data=load_case(FLT3)["workup"]))


def test_every_option_has_one_row_in_the_results_order_with_its_own_metric():
    result = flt3_result()
    glance = glance_build(result.options, chosen_id="mec")
    assert [r.option_id for r in glance.rows] == [o.id for o in result.options]
    for row in glance.rows:
        ev = row.evidence
        if ev is not None and ev.value_pct is not None:
            assert row.response.startswith(f"{ev.metric} "), row.option_id  # CR/CRh is never read as ORR
    assert [r.option_id for r in glance.rows if r.chosen] == ["mec"]
    gilteritinib = glance.rows[0]
    assert (gilteritinib.response, gilteritinib.n, gilteritinib.median_os) == ("CR/CRh 34%", "371", "9.3 mo")
    assert dict(glance.metrics)["CR/CRh"].startswith("complete remission")


def test_a_relapsed_refractory_record_is_shown_before_a_newly_diagnosed_one():
    result = flt3_result()
    ldac_ven = next(o for o in result.options if o.id == "ldac-ven")
    shown = glance_evidence(ldac_ven)
    figures = [ev for ev in ldac_ven.evidence if ev.setting == "R/R"
               and (ev.value_pct is not None or ev.median_os_months is not None)]
    assert shown.setting == "R/R" if figures else shown.value_pct is not None


def test_the_chart_draws_a_bar_per_figure_and_marks_figures_to_verify():
    result = flt3_result()
    glance = glance_build(result.options)
    with_figure = [r for r in glance.rows if r.evidence and (r.evidence.value_pct is not None
                                                            or r.evidence.median_os_months is not None)]
    assert glance.charted == len(with_figure) and glance.svg.startswith("<svg")
    bars = glance.svg.count(f'height="{BAR:g}"')  # response and OS bars
    expected = sum((r.evidence.value_pct is not None) + (r.evidence.median_os_months is not None) for r in with_figure)
    assert bars == expected
    mec = next(r for r in glance.rows if r.option_id == "mec")
    assert mec.uncertain and f"CR 66%{UNCERTAIN_CHART}" in glance.svg and 'stroke-dasharray="2 1.5"' in glance.svg


def test_the_chart_escapes_what_it_prints():
    result = flt3_result()
    options = [result.options[0].model_copy(update={"name": "<script>alert(1)</script> & co"})]
    svg = glance_build(options).svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp; co" in svg


def test_gilteritinibs_plan_gives_the_label_ecg_schedule_and_names_what_is_missing():
    kb = services.knowledge_get()
    plan = monitoring_plan(option_id="gilteritinib", kb=kb)
    groups = {g.category: g for g in plan.groups}
    assert set(groups) == {"ecg_qtc", "differentiation_syndrome"}
    assert groups["ecg_qtc"].items[0].source == ["label-xospata"]
    assert "cycle 1 day 8 and day 15" in groups["ecg_qtc"].items[0].text
    assert plan.not_stated == ["Tumour lysis laboratory schedule", "Marrow assessment timing"]


def test_venetoclax_combinations_get_the_tls_schedule_and_dt20s_marrow_timing():
    kb = services.knowledge_get()
    for option_id in ("aza-ven", "dec-ven", "ldac-ven", "gilteritinib-ven-aza"):
        categories = {g.category for g in monitoring_plan(option_id=option_id, kb=kb).groups}
        assert {"tls_labs", "marrow_assessment"} <= categories, option_id


def test_an_item_without_a_schedule_in_its_source_is_flagged_and_best_supportive_care_has_none():
    kb = services.knowledge_get()
    ivosidenib = monitoring_plan(option_id="ivosidenib", kb=kb)
    marrow = next(g for g in ivosidenib.groups if g.category == "marrow_assessment").items[0]
    assert not marrow.schedule_stated and marrow.source == ["dt20"]
    bsc = monitoring_plan(option_id="bsc", kb=kb)
    assert bsc.groups == [] and len(bsc.not_stated) == 4


def test_every_monitoring_item_cites_a_known_reference():
    kb = services.knowledge_get()
    assert kb.monitoring, "monitoring.yaml is loaded"
    for item in kb.monitoring.values():
        assert item.source and all(s in kb.references for s in item.source), item.id


def test_a_monitoring_item_for_an_unknown_regimen_stops_the_load(tmp_path, settings):
    directory = tmp_path / "knowledge"
    shutil.copytree(settings.AML_SALVAGE_KNOWLEDGE_DIR, directory)
    items = yaml.safe_load((directory / "monitoring.yaml").read_text(encoding="utf-8"))
    items[0]["regimens"] = ["no-such-regimen"]
    (directory / "monitoring.yaml").write_text(yaml.safe_dump(items), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="unknown regimen 'no-such-regimen'"):
        knowledge_load(directory)
