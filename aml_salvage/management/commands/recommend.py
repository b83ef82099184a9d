import json
import sys

from django.core.management.base import BaseCommand

from aml_salvage import services

EXIT_INVALID_INPUT = 2
EXIT_KNOWLEDGE = 3


class Command(BaseCommand):
    help = (
        "Print the consult result (JSON) for a relapse workup read from FILE or '-' (standard input). "
        "A worked-case file ({name, workup, expect}) is accepted too: its workup is used. Invalid input "
        "exits 2 with one 'field.path: message' line per problem."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="workup JSON file, or - for standard input")
        parser.add_argument("--compact", action="store_true", help="one-line JSON")

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

    def handle(self, *args, **options):
        workup = self.load_workup(self.read(options["file"]))
        try:
            result = services.consult_evaluate(workup=workup)
        except services.KnowledgeError as exc:
            self.fail(["knowledge base invalid — no advice given:"] + [f"  - {p}" for p in exc.problems],
                      EXIT_KNOWLEDGE)
        self.stdout.write(services.consult_to_json(result=result, indent=None if options["compact"] else 2))
