"""`manage.py recommend --pdf OUT.pdf FILE|-`: the consult summary from the command line."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from tests.factories import case_files

ROOT = Path(__file__).resolve().parent.parent.parent
FLT3 = next(p for p in case_files() if p.stem == "dt20-patient1-flt3-itd")


def run(*args, stdin: str | None = None):
    """The real command line (exit codes and standard input included)."""
    return subprocess.run([sys.executable, "manage.py", "recommend", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_pdf_is_written_and_the_json_still_printed(tmp_path):
    out = tmp_path / "consult.pdf"
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("recommend", str(FLT3), "--pdf", str(out), "--clinician", "Dr. Ada Hematologist",
                 "--patient-id", "MRN 42", stdout=stdout, stderr=stderr)
    result = json.loads(stdout.getvalue())
    reader = PdfReader(out)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert out.read_bytes().startswith(b"%PDF-")
    assert 1 <= len(reader.pages) <= 12  # the page bound of tests/web/test_pdf.py
    assert "MRN 42 · 30 y · female" in text and "Dr. Ada Hematologist" in text
    assert f"KB {result['kb_version']}" in text
    assert f"wrote {out}" in stderr.getvalue()
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"


def test_html_is_written_for_checking_and_quiet_prints_no_json(tmp_path):
    out = tmp_path / "consult.html"
    stdout = io.StringIO()
    call_command("recommend", str(FLT3), "--html", str(out), "--quiet", stdout=stdout, stderr=io.StringIO())
    assert stdout.getvalue() == ""
    html = out.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>") and "Gilteritinib" in html


def test_cli_reads_standard_input_and_exits_0(tmp_path):
    out = tmp_path / "consult.pdf"
    proc = run("-", "--pdf", str(out), "--paper", "a4", "--quiet", stdin=FLT3.read_text(encoding="utf-8"))
    assert proc.returncode == 0, proc.stderr
    page = PdfReader(out).pages[0]
    assert round(float(page.mediabox.height)) == 842  # A4


def test_invalid_workup_exits_2_with_field_messages_and_writes_no_pdf(tmp_path):
    out = tmp_path / "consult.pdf"
    bad = json.loads(FLT3.read_text(encoding="utf-8"))["workup"]
    bad["patient"]["age_years"] = 12
    bad["disease"]["cr1_duration_months"] = None
    proc = run("-", "--pdf", str(out), "--html", str(tmp_path / "consult.html"), stdin=json.dumps(bad))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert any(line.startswith("patient.age_years: ") for line in lines)
    assert any(line.startswith("disease.cr1_duration_months: ") for line in lines)
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_exits_1_naming_the_path(tmp_path):
    target = tmp_path / "missing-folder" / "consult.pdf"
    with pytest.raises(SystemExit) as exit_info:
        call_command("recommend", str(FLT3), "--pdf", str(target), "--quiet", stdout=io.StringIO(),
                     stderr=(stderr := io.StringIO()))
    assert exit_info.value.code == 1
    assert f"{target}: cannot write" in stderr.getvalue()


def test_patient_identifier_is_checked_before_anything_is_written(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        call_command("recommend", str(FLT3), "--pdf", str(tmp_path / "x.pdf"), "--patient-id", "x" * 65,
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert exit_info.value.code == 2
    assert list(tmp_path.iterdir()) == []
