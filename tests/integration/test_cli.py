"""`manage.py recommend` and `manage.py validate_knowledge` as a clinician or CI runs them."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aml_salvage.domain import knowledge
from aml_salvage.domain.knowledge import knowledge_load
from aml_salvage.knowledge_cache import knowledge_cache_key, knowledge_load_cached
from tests.factories import YOUNG_FIT, build, case_files

ROOT = Path(__file__).resolve().parent.parent.parent
ENV = {**os.environ, "DJANGO_SETTINGS_MODULE": "aml_salvage.settings.test"}


def manage(*args, stdin: str | None = None, env=None):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, input=stdin, capture_output=True,
                          text=True, env=env or ENV, timeout=120)


def test_recommend_reads_standard_input():
    proc = manage("recommend", "-", stdin=json.dumps(build(**{"genetics.flt3_itd": True})))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    gilt = next(o for o in result["options"] if o["id"] == "gilteritinib")
    assert gilt["tier"] == "preferred" and result["kb_version"]


def test_recommend_invalid_input_exits_2_with_field_lines_and_no_traceback():
    bad = build(**{"patient.age_years": 16, "disease.months_since_hct": 3})
    bad["genetics"]["colour"] = "blue"
    proc = manage("recommend", "-", stdin=json.dumps(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "patient.age_years: must be at least 18: AML Salvage is for adults (18 years or older)" in lines
    assert any(line.startswith("disease.months_since_hct: ") for line in lines)
    assert any(line.startswith("genetics.colour: unknown field") for line in lines)
    assert "Traceback" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"patient": {}}'])
def test_recommend_garbage_exits_2_without_traceback(text):
    proc = manage("recommend", "-", stdin=text)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stderr.strip()


def test_recommend_missing_file_exits_2():
    proc = manage("recommend", "/nonexistent/workup.json")
    assert proc.returncode == 2 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr


def test_recommend_accepts_a_worked_case_file():
    proc = manage("recommend", str(case_files()[0]))
    assert proc.returncode == 0 and json.loads(proc.stdout)["options"]


def test_validate_knowledge_passes_on_the_shipped_knowledge_base():
    proc = manage("validate_knowledge")
    assert proc.returncode == 0, proc.stderr
    assert "OK: 28 regimens" in proc.stdout


def _copy_kb(tmp_path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(ROOT / "fixtures" / "knowledge", target)
    return target


def test_validate_knowledge_fails_and_names_the_problem(tmp_path):
    kb = _copy_kb(tmp_path)
    gilt = kb / "regimens" / "gilteritinib.yaml"
    gilt.write_text(gilt.read_text().replace("metric: CR/CRh", "metric: CR-or-whatever", 1))
    (kb / "regimens" / "hma.yaml").unlink()
    proc = manage("validate_knowledge", "--dir", str(kb))
    assert proc.returncode != 0
    assert "gilteritinib" in proc.stderr and "missing option ids ['hma']" in proc.stderr


def test_validate_knowledge_reports_broken_yaml(tmp_path):
    kb = _copy_kb(tmp_path)
    (kb / "references.yaml").write_text("- id: [unclosed\n")
    proc = manage("validate_knowledge", "--dir", str(kb))
    assert proc.returncode != 0 and "not valid YAML" in proc.stderr


def test_recommend_refuses_to_advise_on_a_corrupt_knowledge_base(tmp_path):
    kb = _copy_kb(tmp_path)
    (kb / "rules.yaml").write_text("- id: R-BROKEN\n")
    env = {**ENV, "AML_SALVAGE_KNOWLEDGE_DIR": str(kb)}
    proc = manage("recommend", "-", stdin=json.dumps(YOUNG_FIT), env=env)
    assert proc.returncode == 3 and "no advice given" in proc.stderr and proc.stdout == ""


def test_recommend_refuses_the_contract_v2_contradictions_naming_each_field():
    bad = build(**{"genetics.other_mutations": ["PML-RARA"], "patient.age_years": 20,
                   "disease.cr1_duration_months": 300, "genetics.flt3_itd": True,
                   "genetics.pending": ["flt3_itd"], "infection_uncontrolled": True, "active_infection": False})
    proc = manage("recommend", "-", stdin=json.dumps(bad))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    fields = {line.split(": ", 1)[0] for line in proc.stderr.strip().splitlines()}
    assert fields == {"genetics.other_mutations"}  # an APL fusion is named before anything else
    del bad["genetics"]["other_mutations"]
    proc = manage("recommend", "-", stdin=json.dumps(bad))
    fields = {line.split(": ", 1)[0] for line in proc.stderr.strip().splitlines()}
    assert proc.returncode == 2
    assert fields == {"disease.cr1_duration_months", "genetics.flt3_itd", "active_infection"}


# --- the validated knowledge-base cache (aml_salvage/knowledge_cache.py) -------------------------------------

def _next_version(kb_dir: Path) -> str:
    """Bump the knowledge-base version in meta.yaml, as a maintainer does with every edit."""
    meta = kb_dir / "meta.yaml"
    old = knowledge_load(kb_dir).version
    new = f"{old}9"
    meta.write_text(meta.read_text().replace(old, new, 1))
    return new


def test_recommend_never_serves_a_changed_knowledge_base_from_the_cache(tmp_path):
    kb = _copy_kb(tmp_path)
    env = {**ENV, "AML_SALVAGE_KNOWLEDGE_DIR": str(kb)}
    first = manage("recommend", "-", "--compact", stdin=json.dumps(YOUNG_FIT), env=env)
    assert first.returncode == 0, first.stderr
    new_version = _next_version(kb)
    second = manage("recommend", "-", "--compact", stdin=json.dumps(YOUNG_FIT), env=env)
    assert json.loads(second.stdout)["kb_version"] == new_version != json.loads(first.stdout)["kb_version"]
    (kb / "rules.yaml").write_text("- id: R-BROKEN\n")  # a knowledge base that was cached, then broken
    third = manage("recommend", "-", stdin=json.dumps(YOUNG_FIT), env=env)
    assert third.returncode == 3 and "no advice given" in third.stderr and third.stdout == ""


def test_the_cache_key_covers_every_file_and_the_schema_code(tmp_path, monkeypatch):
    kb = _copy_kb(tmp_path)
    key = knowledge_cache_key(kb)
    assert key == knowledge_cache_key(_copy_kb(tmp_path / "same"))  # content, not location
    changed_schema = tmp_path / "knowledge.py"
    changed_schema.write_bytes(Path(knowledge.__file__).read_bytes() + b"\n# a changed schema\n")
    with monkeypatch.context() as patch:
        patch.setattr(knowledge, "__file__", str(changed_schema))
        assert knowledge_cache_key(kb) != key
    regimen = kb / "regimens" / "hma.yaml"
    regimen.write_bytes(regimen.read_bytes() + b" ")
    assert knowledge_cache_key(kb) != key


def _signed(entry: Path, payload: bytes) -> bytes:
    """An entry as the cache writes one: SHA-256 of its key and payload, a newline, the payload."""
    return hashlib.sha256(entry.stem.encode() + b"\n" + payload).hexdigest().encode() + b"\n" + payload


def test_a_corrupted_cache_entry_is_rebuilt_never_used(tmp_path):
    kb, cache = _copy_kb(tmp_path), tmp_path / "cache"
    real = knowledge_load_cached(kb, cache_dir=cache)
    assert real == knowledge_load(kb) == knowledge_load_cached(kb, cache_dir=cache)  # the last one from the entry
    [entry] = cache.glob("*.json")
    good = entry.read_bytes()
    payload = good.partition(b"\n")[2]
    without_hma = json.loads(payload)
    del without_hma["regimens"]["hma"]
    corrupted = {
        "a changed figure": good.replace(real.version.encode(), b"1999.1.1"),  # valid JSON, valid schema
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "checksum right, content invalid": _signed(entry, json.dumps(without_hma).encode()),
    }
    for what, data in corrupted.items():
        entry.write_bytes(data)
        assert knowledge_load_cached(kb, cache_dir=cache) == real, what
        assert entry.read_bytes() == good, f"{what}: not rebuilt"


def test_a_cache_directory_others_can_write_is_not_read(tmp_path):
    kb, cache = _copy_kb(tmp_path), tmp_path / "cache"
    real = knowledge_load_cached(kb, cache_dir=cache)
    [entry] = cache.glob("*.json")
    planted = json.loads(entry.read_bytes().partition(b"\n")[2])
    planted["meta"]["version"] = "1999.1.1"
    entry.write_bytes(_signed(entry, json.dumps(planted).encode()))
    cache.chmod(0o777)
    assert knowledge_load_cached(kb, cache_dir=cache) == real
