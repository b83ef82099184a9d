"""`manage.py recommend --jsonl`: many workups in one run, one output line per input line, in order."""

import json
from io import StringIO

from django.core.management import call_command

from aml_salvage.domain.errors import MSG_ADULTS_ONLY, MSG_UNKNOWN_FIELD
from aml_salvage.management.commands.recommend import MSG_BLANK_LINE, MSG_JSONL_NO_SUMMARY, MSG_NOT_UTF8
from tests.factories import YOUNG_FIT, build, case_files, load_case
from tests.integration.test_cli import ENV, _copy_kb, manage

CASES = case_files()


def _batch_with_invalid_lines() -> tuple[list[str], dict[int, str]]:
    """Every worked case, one per line, with a bad value, a misspelt field, a blank line and broken JSON among
    them. Returns the lines and, for each invalid line's number, the field its error must name."""
    lines = [json.dumps(load_case(path)["workup"]) for path in CASES]
    misspelt = build()
    misspelt["genetics"]["flt3_itdd"] = True
    invalid = {2: (json.dumps(build(**{"patient.age_years": 16})), "patient.age_years"), 5: ("", ""),
               len(lines) + 2: (json.dumps(misspelt), "genetics.flt3_itdd"), len(lines) + 4: ("{not json", "")}
    for number, (text, _) in sorted(invalid.items()):
        lines.insert(number - 1, text)
    return lines, {number: field for number, (_, field) in invalid.items()}


def test_a_batch_of_every_worked_case_and_invalid_lines_answers_each_line_in_order():
    lines, invalid = _batch_with_invalid_lines()
    proc = manage("recommend", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 2, proc.stderr
    output = proc.stdout.splitlines()
    assert len(output) == len(lines)
    cases = iter(CASES)
    for number, answer in enumerate(output, start=1):
        answer = json.loads(answer)
        if number in invalid:
            assert answer["line"] == number and answer["errors"], answer
            assert all(set(e) == {"path", "message"} for e in answer["errors"])
            assert invalid[number] in {e["path"] for e in answer["errors"]}
        else:
            # The same result as the single-file form gives for this worked case, line by line.
            single = StringIO()
            call_command("recommend", str(next(cases)), "--compact", stdout=single)
            assert answer == json.loads(single.getvalue()), f"line {number}"
    messages = {e["message"] for n in invalid for e in json.loads(output[n - 1])["errors"]}
    assert {MSG_BLANK_LINE, MSG_ADULTS_ONLY, MSG_UNKNOWN_FIELD} <= messages
    assert any(m.startswith("not valid JSON (column 2: ") for m in messages)
    assert proc.stderr.strip().splitlines()[-1] == (
        f"{len(lines)} line(s): {len(CASES)} result(s), {len(invalid)} invalid; invalid lines: "
        + ", ".join(str(n) for n in sorted(invalid)))
    assert "Traceback" not in proc.stderr


def test_a_valid_batch_from_a_file_exits_0(tmp_path):
    batch = tmp_path / "workups.jsonl"
    # A worked-case document is accepted on a line, as it is as a file; Windows line ends are fine too.
    batch.write_text(json.dumps(YOUNG_FIT) + "\r\n" + CASES[0].read_text().replace("\n", " ") + "\n")
    proc = manage("recommend", "--jsonl", str(batch))
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(results) == 2 and all(r["options"] and r["kb_version"] for r in results)
    assert proc.stderr.strip() == "2 line(s): 2 result(s), 0 invalid"


def test_an_empty_batch_gives_no_lines_and_exits_0():
    proc = manage("recommend", "--jsonl", "-", stdin="")
    assert proc.returncode == 0 and proc.stdout == "" and "0 line(s)" in proc.stderr


def test_a_line_that_is_not_utf8_is_one_invalid_line(tmp_path):
    batch = tmp_path / "workups.jsonl"
    batch.write_bytes(json.dumps(YOUNG_FIT).encode() + b"\n\xff\xfe\n")
    proc = manage("recommend", "--jsonl", str(batch))
    output = proc.stdout.splitlines()
    assert proc.returncode == 2 and len(output) == 2
    assert json.loads(output[1]) == {"line": 2, "errors": [{"path": "", "message": MSG_NOT_UTF8}]}


def test_a_batch_on_a_corrupt_knowledge_base_gives_no_advice_at_all(tmp_path):
    kb = _copy_kb(tmp_path)
    (kb / "rules.yaml").write_text("- id: R-BROKEN\n")
    proc = manage("recommend", "--jsonl", "-", stdin=json.dumps(YOUNG_FIT) + "\n",
                  env={**ENV, "AML_SALVAGE_KNOWLEDGE_DIR": str(kb)})
    assert proc.returncode == 3 and "no advice given" in proc.stderr and proc.stdout == ""


def test_a_batch_does_not_print_summaries():
    proc = manage("recommend", "--jsonl", "-", "--pdf", "out.pdf", stdin=json.dumps(YOUNG_FIT))
    assert proc.returncode == 2 and proc.stderr.strip() == MSG_JSONL_NO_SUMMARY and proc.stdout == ""
