import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from aml_salvage import services
from aml_salvage.domain.errors import MSG_INVALID_JSON

EXIT_OUTPUT = 1  # an output file could not be written
EXIT_INVALID_INPUT = 2
EXIT_KNOWLEDGE = 3
PATIENT_ID_MAX_LEN = 64
MSG_BLANK_LINE = "blank line: no workup"  # reported, not skipped: the output keeps one line per input line
MSG_NOT_UTF8 = "not UTF-8 text"
MSG_JSONL_NO_SUMMARY = ("--jsonl: a batch gives JSON only; print a summary (--pdf, --html) or a FHIR Bundle (--fhir) "
                        "one workup at a time")
SUMMARY_LISTS_LINES = 20  # invalid line numbers named on standard error; the output lines name them all


class Command(BaseCommand):
    help = (
        "Print the consult result (JSON) for a relapse workup read from FILE or '-' (standard input). "
        "A worked-case file ({name, workup, expect}) is accepted too: its workup is used. Invalid input "
        "exits 2 with one 'field.path: message' line per problem, before any file is written. With "
        "--pdf (and/or --html) the printable consult summary is written too. With --jsonl, FILE holds one "
        "workup per line (JSON Lines) and one result per line is printed, in order; an invalid line prints "
        '{"line": N, "errors": [{"path": ..., "message": ...}]} and the run goes on; counts go to standard '
        "error; the exit status is 2 if any line was invalid."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="workup JSON file, or - for standard input")
        parser.add_argument("--jsonl", action="store_true",
                            help="batch: FILE is JSON Lines, one workup per line; one result per line out")
        parser.add_argument("--compact", action="store_true", help="one-line JSON")
        parser.add_argument("--pdf", metavar="OUT.pdf", help="also write the consult summary as PDF")
        parser.add_argument("--html", metavar="OUT.html",
                            help="also write the summary's HTML (the PDF's source, for checking in a browser)")
        parser.add_argument("--fhir", metavar="OUT.json",
                            help="also write the consult as a FHIR R4 document Bundle (the first preferred option "
                                 "as the chosen one; --patient-id and --clinician name the patient and author)")
        parser.add_argument("--clinician", help="signing clinician printed on the summary")
        parser.add_argument("--patient-id", help="patient identifier printed on the summary (MRN or initials, "
                                                 "never a name)")
        parser.add_argument("--paper", choices=["letter", "a4"],
                            help="paper size (default: the AML_SALVAGE_PAPER_SIZE setting)")
        parser.add_argument("--quiet", action="store_true",
                            help="do not print the JSON (with --pdf/--html: only the confirmation lines)")

    def fail(self, lines, code):
        for line in lines:
            self.stderr.write(str(line))
        raise SystemExit(code)

    def read(self, name: str) -> str:
        if name == "-":
            return sys.stdin.read()
        try:
            with open(name, encoding="utf-8") as fh:
                return fh.read()
        except OSError as exc:
            self.fail([f"{name}: cannot read ({exc.strerror})"], EXIT_INVALID_INPUT)
        except UnicodeDecodeError:
            self.fail([f"{name}: not UTF-8 text"], EXIT_INVALID_INPUT)

    def load_workup(self, text: str):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self.fail([f"workup: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"],
                      EXIT_INVALID_INPUT)
        try:
            return services.workup_parse(data=unwrap_case(data))
        except services.WorkupInvalid as exc:
            self.fail(exc.errors, EXIT_INVALID_INPUT)

    def check_options(self, options) -> None:
        if options["jsonl"] and (options["pdf"] or options["html"] or options["fhir"]):
            self.fail([MSG_JSONL_NO_SUMMARY], EXIT_INVALID_INPUT)
        patient_id = options["patient_id"]
        if patient_id is not None and not 0 < len(patient_id.strip()) <= PATIENT_ID_MAX_LEN:
            self.fail([f"--patient-id: give 1–{PATIENT_ID_MAX_LEN} characters (an MRN or initials)"],
                      EXIT_INVALID_INPUT)

    def write_atomic(self, path: str, data: bytes) -> None:
        """Write via a temporary file in the same folder: a reader never sees half a PDF. The file
        is created with open() (not mkstemp, which forces mode 0600) so the user's umask applies."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            try:
                with open(tmp, "xb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        except OSError as exc:
            self.fail([f"{path}: cannot write ({exc.strerror})"], EXIT_OUTPUT)

    def knowledge_or_fail(self, *, batch: bool = False) -> None:
        try:
            if batch:
                # A batch is a long run, like a server worker: after loading, take the long-lived objects out
                # of the garbage collector's full passes (services.worker_start), which each workup triggers.
                services.worker_start()
            else:
                services.knowledge_get()
        except services.KnowledgeError as exc:
            self.fail(["knowledge base invalid — no advice given:"] + [f"  - {p}" for p in exc.problems],
                      EXIT_KNOWLEDGE)

    def open_lines(self, name: str):
        """The input as bytes, line by line: each line is decoded on its own, so one bad line is one error."""
        if name == "-":
            return sys.stdin.buffer
        try:
            return open(name, "rb")
        except OSError as exc:
            self.fail([f"{name}: cannot read ({exc.strerror})"], EXIT_INVALID_INPUT)

    def handle_batch(self, options) -> None:
        source = self.open_lines(options["file"])
        # The knowledge base before the first line: an invalid one refuses the whole batch, printing nothing.
        self.knowledge_or_fail(batch=True)
        results, invalid_lines = 0, []
        with source:
            for number, raw in enumerate(source, start=1):
                outcome, line = batch_line(raw, number)
                if outcome == "result":
                    results += 1
                else:
                    invalid_lines.append(number)
                if not options["quiet"]:
                    self.stdout.write(line)
        summary = f"{results + len(invalid_lines)} line(s): {results} result(s), {len(invalid_lines)} invalid"
        if invalid_lines:
            shown = ", ".join(map(str, invalid_lines[:SUMMARY_LISTS_LINES]))
            unnamed = len(invalid_lines) - SUMMARY_LISTS_LINES
            summary += f"; invalid lines: {shown}{f' and {unnamed} more' if unnamed > 0 else ''}"
        self.stderr.write(summary)
        if invalid_lines:
            raise SystemExit(EXIT_INVALID_INPUT)

    def handle(self, *args, **options):
        self.check_options(options)
        if options["jsonl"]:
            return self.handle_batch(options)
        workup = self.load_workup(self.read(options["file"]))
        self.knowledge_or_fail()
        result = services.consult_evaluate(workup=workup)

        if options["pdf"] or options["html"]:
            from aml_salvage import pdf  # WeasyPrint loads only when a summary is asked for

            meta = pdf.consult_meta_build(workup=workup, clinician=options["clinician"],
                                          patient_identifier=(options["patient_id"] or "").strip() or None)
            html = pdf.render_consult_html(result=result, workup=workup, meta=meta, paper=options["paper"])
            document = pdf.render_consult_pdf(html=html) if options["pdf"] else None
            if options["html"]:
                self.write_atomic(options["html"], html.encode("utf-8"))
                self.stderr.write(f"wrote {options['html']} (summary HTML)", style_func=self.style.SUCCESS)
            if document is not None:
                self.write_atomic(options["pdf"], document)
                self.stderr.write(f"wrote {options['pdf']} (consult summary PDF, {len(document):,} bytes)",
                                  style_func=self.style.SUCCESS)

        if options["fhir"]:
            from aml_salvage.fhir.export import workup_fhir_export  # fhir.resources loads only when asked for

            document = workup_fhir_export(workup=workup, result=result, clinician=options["clinician"],
                                          patient_identifier=(options["patient_id"] or "").strip() or None)
            self.write_atomic(options["fhir"], document.encode("utf-8"))
            self.stderr.write(f"wrote {options['fhir']} (FHIR R4 document Bundle)", style_func=self.style.SUCCESS)

        if not options["quiet"]:
            self.stdout.write(services.consult_to_json(result=result, indent=None if options["compact"] else 2))


def unwrap_case(data):
    """A worked-case document ({name, workup, expect}) stands for its workup."""
    if isinstance(data, dict) and "workup" in data and "patient" not in data:
        return data["workup"]
    return data


def batch_line(raw: bytes, number: int) -> tuple[str, str]:
    """One JSON Lines input line → ("result" | "invalid", its one-line JSON output)."""
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return "invalid", _error_line(number, [services.FieldError(path="", message=MSG_NOT_UTF8)])
    if not text:
        return "invalid", _error_line(number, [services.FieldError(path="", message=MSG_BLANK_LINE)])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"{MSG_INVALID_JSON} (column {exc.colno}: {exc.msg})"
        return "invalid", _error_line(number, [services.FieldError(path="", message=message)])
    try:
        workup = services.workup_parse(data=unwrap_case(data))
    except services.WorkupInvalid as exc:
        return "invalid", _error_line(number, exc.errors)
    # pydantic's own serializer: the same JSON values as consult_to_json (tests/integration/test_batch.py
    # compares them) in a fifth of the time, which in a batch is a third of the cost of each workup.
    return "result", services.consult_evaluate(workup=workup).model_dump_json()


def _error_line(number: int, errors) -> str:
    return json.dumps({"line": number, "errors": [{"path": e.path, "message": e.message} for e in errors]},
                      ensure_ascii=False)
