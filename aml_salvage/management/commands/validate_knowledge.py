from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aml_salvage.domain.knowledge import KnowledgeError, knowledge_load, rule_placeholders


class Command(BaseCommand):
    help = "Validate the clinical knowledge base (fixtures/knowledge); exit non-zero listing every problem."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=None, help="knowledge directory (default: the configured one)")

    def handle(self, *args, **options):
        directory = Path(options["dir"] or settings.AML_SALVAGE_KNOWLEDGE_DIR)
        try:
            kb = knowledge_load(directory)
        except KnowledgeError as exc:
            for problem in exc.problems:
                self.stderr.write(f"  - {problem}")
            raise CommandError(f"knowledge base invalid: {len(exc.problems)} problem(s) in {directory}") from None
        n_evidence = sum(len(r.evidence) for r in kb.regimens.values())
        self.stdout.write(
            f"knowledge base {kb.version} OK: {len(kb.regimens)} regimens and strategies, {n_evidence} evidence "
            f"records, {len(kb.references)} references, {len(kb.warnings)} warnings, {len(kb.rules)} rules"
        )
        uncertain = [f"{r.id}/{e.id}" for r in kb.regimens.values() for e in r.evidence if e.uncertain]
        if uncertain:
            self.stdout.write(f"evidence marked uncertain (to verify): {', '.join(uncertain)}")
        placeholders = sorted({p for r in kb.rules.values() for p in rule_placeholders(r)})
        self.stdout.write(f"rule placeholders: {', '.join(placeholders) or 'none'}")
