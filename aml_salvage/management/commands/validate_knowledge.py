import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from aml_salvage.domain.knowledge import (
    KnowledgeError,
    knowledge_label_dates_unverified,
    knowledge_load,
    knowledge_stale,
    rule_placeholders,
)

# Label-derived records not checked within this many months are listed (AML_SALVAGE_KNOWLEDGE_STALE_MONTHS).
DEFAULT_STALE_MONTHS = 12


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


class Command(BaseCommand):
    help = (
        "Validate the clinical knowledge base (fixtures/knowledge); exit non-zero listing every problem. "
        "Also lists label-derived records not checked within --stale-months (a reminder: exit status stays 0)."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--dir", default=None, help="knowledge directory (default: the configured one)")
        parser.add_argument(
            "--stale-months", type=_positive_int, default=None,
            help="list label and availability records not checked within this many months "
                 "(default: setting AML_SALVAGE_KNOWLEDGE_STALE_MONTHS, else 12)",
        )
        parser.add_argument(
            "--as-of", type=dt.date.fromisoformat, default=None,
            help="the date to measure currency from, YYYY-MM-DD (default: today)",
        )

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
        self._currency(kb, options)

    def _currency(self, kb, options) -> None:
        months = options["stale_months"] or getattr(settings, "AML_SALVAGE_KNOWLEDGE_STALE_MONTHS",
                                                    DEFAULT_STALE_MONTHS)
        today = options["as_of"] or dt.date.today()
        stale = knowledge_stale(kb, today=today, months=months)
        if stale:
            self.stdout.write(
                f"NOT CHECKED WITHIN {months} MONTHS of {today.isoformat()} ({len(stale)} record(s)): re-check "
                "against the current label or agency record, then update 'checked' / 'as_of':"
            )
            for item in stale:
                self.stdout.write(f"  - {item.record}: {item.detail}")
        else:
            self.stdout.write(f"label currency: every label-derived record checked within {months} months "
                              f"of {today.isoformat()}")
        unverified = knowledge_label_dates_unverified(kb)
        if unverified:
            self.stdout.write(f"LABEL REVISION DATE NOT VERIFIED ({len(unverified)} reference(s)):")
            for item in unverified:
                self.stdout.write(f"  - {item.record}: {item.detail}")
