"""Label currency: every label-derived record says which label revision it rests on and when it was checked,
and `manage.py validate_knowledge` lists the records not checked within a configurable number of months."""

import datetime as dt
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from pydantic import ValidationError

from aml_salvage.domain.knowledge import (
    LABEL_KINDS,
    Reference,
    knowledge_label_dates_unverified,
    knowledge_stale,
    months_before,
)

KB_DIR = Path(__file__).resolve().parent.parent.parent / "fixtures" / "knowledge"

LABEL = {
    "id": "label-example",
    "short": "Example (Examplo) prescribing information",
    "citation": "EXAMPLO (example tablets) US prescribing information. Example Inc.",
    "kind": "label",
}


def _with_reference_checked(kb, ref_id: str, checked: dt.date):
    refs = dict(kb.references)
    refs[ref_id] = refs[ref_id].model_copy(update={"checked": checked})
    return kb.model_copy(update={"references": refs})


# --- the schema ------------------------------------------------------------------------------------------

def test_a_label_reference_without_a_checked_date_is_refused():
    with pytest.raises(ValidationError, match="checked"):
        Reference.model_validate({**LABEL, "label_date": "2025-10-24"})


def test_a_label_reference_without_a_revision_date_must_say_why():
    with pytest.raises(ValidationError, match="label_date_note"):
        Reference.model_validate({**LABEL, "checked": "2026-11-30"})
    ref = Reference.model_validate({**LABEL, "checked": "2026-11-30", "label_date": None,
                                    "label_date_note": "revision date not verified"})
    assert ref.label_date is None and ref.label_date_note == "revision date not verified"


def test_a_label_cannot_be_revised_after_it_was_checked():
    with pytest.raises(ValidationError, match="later than"):
        Reference.model_validate({**LABEL, "label_date": "2026-12-01", "checked": "2026-11-30"})


def test_an_article_needs_no_label_dates():
    ref = Reference.model_validate({**LABEL, "kind": "article"})
    assert ref.checked is None


def test_every_shipped_label_and_monograph_carries_its_currency(kb):
    labels = [r for r in kb.references.values() if r.kind in LABEL_KINDS]
    assert len(labels) >= 17
    for ref in labels:
        assert ref.checked is not None, ref.id
        assert ref.label_date is not None or ref.label_date_note, ref.id


# --- the currency listing --------------------------------------------------------------------------------

def test_months_before_keeps_the_day_or_takes_the_month_end():
    assert months_before(dt.date(2026, 11, 30), 12) == dt.date(2025, 11, 30)
    assert months_before(dt.date(2026, 3, 31), 1) == dt.date(2026, 2, 28)
    assert months_before(dt.date(2026, 1, 15), 1) == dt.date(2025, 12, 15)


def test_a_label_checked_long_ago_is_listed_and_a_fresh_one_is_not(kb):
    old = _with_reference_checked(kb, "label-xospata", dt.date(2024, 1, 10))
    stale = knowledge_stale(old, today=dt.date(2026, 11, 30), months=12)
    records = [item.record for item in stale]
    assert "references/label-xospata" in records
    assert "references/label-revuforj" not in records  # checked 2026-11-30
    item = next(i for i in stale if i.record == "references/label-xospata")
    assert item.checked == dt.date(2024, 1, 10) and "2024-01-10" in item.detail


def test_the_shipped_knowledge_base_is_current_today(kb):
    assert knowledge_stale(kb, today=dt.date(2026, 11, 30), months=12) == []


def test_the_window_is_configurable(kb):
    # Checked 2026-11-21: current at 12 months, listed once the window is shorter than the time elapsed.
    today = dt.date(2027, 1, 25)  # two months back: 2026-11-25
    assert knowledge_stale(kb, today=today, months=12) == []
    short = [i.record for i in knowledge_stale(kb, today=today, months=2)]
    assert "references/label-venclexta" in short
    assert "regimens/revumenib.availability.US" in short  # availability as_of 2026-11-21
    assert "references/label-revuforj" not in short  # checked 2026-11-30, within 2 months


def test_unverified_label_revision_dates_are_listed(kb):
    unverified = {item.record: item.detail for item in knowledge_label_dates_unverified(kb)}
    assert "references/label-revuforj" in unverified
    assert "not verified" in unverified["references/label-revuforj"]


# --- manage.py validate_knowledge ------------------------------------------------------------------------

@pytest.fixture
def kb_copy(tmp_path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KB_DIR, target)
    return target


def _run(*args) -> str:
    out = StringIO()
    call_command("validate_knowledge", *args, stdout=out)  # raises CommandError (non-zero exit) if invalid
    return out.getvalue()


def _set_checked(directory: Path, ref_id: str, checked: str) -> None:
    path = directory / "references.yaml"
    text = path.read_text()
    start = text.index(f"- id: {ref_id}\n")
    at = text.index("  checked: ", start)
    end = text.index("\n", at)
    path.write_text(text[:at] + f"  checked: {checked}" + text[end:])


def test_validate_knowledge_lists_a_label_not_checked_within_the_window(kb_copy):
    _set_checked(kb_copy, "label-xospata", "2023-05-02")
    out = _run("--dir", str(kb_copy), "--as-of", "2026-11-30")
    assert "NOT CHECKED WITHIN 12 MONTHS" in out
    assert "references/label-xospata" in out and "2023-05-02" in out
    assert "references/label-revuforj:" not in out.split("LABEL REVISION DATE NOT VERIFIED")[0]


def test_validate_knowledge_says_so_when_everything_is_current(kb_copy):
    out = _run("--dir", str(kb_copy), "--as-of", "2026-11-30")
    assert "NOT CHECKED WITHIN" not in out
    assert "checked within 12 months" in out


def test_validate_knowledge_stale_months_option(kb_copy):
    out = _run("--dir", str(kb_copy), "--as-of", "2027-02-01", "--stale-months", "2")
    assert "NOT CHECKED WITHIN 2 MONTHS" in out and "references/label-venclexta" in out
    out = _run("--dir", str(kb_copy), "--as-of", "2027-02-01", "--stale-months", "12")
    assert "NOT CHECKED WITHIN" not in out


def test_validate_knowledge_default_window_comes_from_the_setting(kb_copy, settings):
    settings.AML_SALVAGE_KNOWLEDGE_STALE_MONTHS = 1
    out = _run("--dir", str(kb_copy), "--as-of", "2027-01-15")
    assert "NOT CHECKED WITHIN 1 MONTHS" in out


def test_validate_knowledge_lists_unverified_label_revision_dates(kb_copy):
    out = _run("--dir", str(kb_copy), "--as-of", "2026-11-30")
    listing = out.split("LABEL REVISION DATE NOT VERIFIED")[1]
    assert "references/label-komzifti" in listing


def test_a_dated_label_is_not_listed_as_unverified(kb):
    dated = [r.id for r in kb.references.values() if r.kind in LABEL_KINDS and r.label_date is not None]
    listed = {item.record for item in knowledge_label_dates_unverified(kb)}
    assert dated and not any(f"references/{rid}" in listed for rid in dated)
