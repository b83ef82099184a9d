import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from aml_salvage import services

EXIT_OUTPUT = 1  # an output file could not be written
EXIT_INVALID_INPUT = 2
EXIT_KNOWLEDGE = 3
PATIENT_ID_MAX_LEN = 64


class Command(BaseCommand):
    help = (
        "Print the consult result (JSON) for a relapse workup read from FILE or '-' (standard input). "
        "A worked-case file ({name, workup, expect}) is accepted too: its workup is used. Invalid input "
        "exits 2 with one 'field.path: message' line per problem, before any file is written. With "
        "--pdf (and/or --html) the printable consult summary is written too."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="workup JSON file, or - for standard input")
        parser.add_argument("--compact", action="store_true", help="one-line JSON")
        parser.add_argument("--pdf", metavar="OUT.pdf", help="also write the consult summary as PDF")
        parser.add_argument("--html", metavar="OUT.html",
                            help="also write the summary's HTML (the PDF's source, for checking in a browser)")
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
        if isinstance(data, dict) and "workup" in data and "patient" not in data:
            data = data["workup"]  # a worked-case file
        try:
            return services.workup_parse(data=data)
        except services.WorkupInvalid as exc:
            self.fail(exc.errors, EXIT_INVALID_INPUT)

    def check_options(self, options) -> None:
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

    def handle(self, *args, **options):
        self.check_options(options)
        workup = self.load_workup(self.read(options["file"]))
        try:
            result = services.consult_evaluate(workup=workup)
        except services.KnowledgeError as exc:
            self.fail(["knowledge base invalid — no advice given:"] + [f"  - {p}" for p in exc.problems],
                      EXIT_KNOWLEDGE)

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

        if not options["quiet"]:
            self.stdout.write(services.consult_to_json(result=result, indent=None if options["compact"] else 2))
