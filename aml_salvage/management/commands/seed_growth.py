"""Fill a database with years of a hospital's consults and audit trail, to measure what grows with use.

    python manage.py seed_growth --consults 100000 --events 1000000 [--distinct 300] [--teams 12] [--seed 1]
    python manage.py seed_growth --append --reuse --consults 100000 --events 990000 [--fast]

Not for a production database: it refuses one that already holds consults unless --append is given.
``make bench`` runs it on throwaway databases (bench/growth_bench.py): the small database first, then the large
one as a copy of it grown with --append --reuse (its saved consults serve as the templates: no workup is
evaluated twice) and --fast (SQLite: no journal, no fsync while seeding; a crash leaves a corrupt file).

How: a few hundred distinct seeded workups (aml_salvage.workup_samples) are validated and evaluated by the
real engine and saved through the real service (``consults.consult_create``: validation, team, audit event),
so every stored consult is one the app itself would have stored. The other consults reuse those saved
rows' stored columns (copied by the database: INSERT ... SELECT), each with its own team, author, patient
identifier and time spread over --years, in batches of --batch rows; then --events audit events ('viewed',
'printed', ... on random consults by their team's clinicians), in batches too. Time and memory stay bounded:
one batch of rows is held at a time, and no stored result is serialized again.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from ... import consults, services
from ...models import AuditEvent, Consult
from ...workup_samples import random_workups

# Fields that make one consult differ from the saved one whose stored content it reuses.
OWN_FIELDS = {"id", "team", "author", "patient_identifier", "created_at", "revision_of"}
EVENT_ACTIONS = ("viewed", "viewed", "viewed", "printed", "exported")
SEED_OVERRIDE_REASON = "Seeded for a growth measurement (manage.py seed_growth)."


def _chosen(result) -> tuple[str, str]:
    """The first preferred option; else the first option, with an override reason (as a clinician must)."""
    preferred = next((o for o in result.options if o.tier == "preferred"), None)
    if preferred is not None:
        return preferred.id, ""
    return result.options[0].id, SEED_OVERRIDE_REASON


class Command(BaseCommand):
    help = "Seed N consults and M audit events (bulk inserts; for benchmarks, never a production database)."

    def add_arguments(self, parser):
        parser.add_argument("--consults", type=int, default=1000, help="consults in all (default 1,000)")
        parser.add_argument("--events", type=int, default=10_000, help="audit events added (default 10,000)")
        parser.add_argument("--distinct", type=int, default=300,
                            help="distinct workups evaluated by the engine and saved by the service (default 300)")
        parser.add_argument("--teams", type=int, default=12, help="care teams, one clinician each (default 12)")
        parser.add_argument("--batch", type=int, default=1000, help="rows per bulk insert (default 1,000)")
        parser.add_argument("--years", type=float, default=10, help="the span the consults and events cover")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--append", action="store_true", help="add to a database that has consults already")
        parser.add_argument("--reuse", action="store_true",
                            help="with --append: copy the consults already saved instead of evaluating new workups")
        parser.add_argument("--fast", action="store_true",
                            help="SQLite only, throwaway databases only: no rollback journal and no fsync while "
                                 "seeding (WAL again at the end)")

    def handle(self, *args, consults: int, events: int, distinct: int, teams: int, batch: int, seed: int,
               years: float, append: bool, reuse: bool, fast: bool, **options):
        if min(consults, events, teams, batch) < 0 or teams < 1 or batch < 1:
            raise CommandError("--consults and --events must be ≥ 0, --teams and --batch ≥ 1")
        if reuse and not append:
            raise CommandError("--reuse copies the consults already saved: it needs --append")
        if Consult.objects.exists() and not append:
            raise CommandError("the database already holds consults: seed_growth is for throwaway databases "
                               "(--append to add to them anyway)")
        rng = random.Random(seed)
        started = time.perf_counter()
        if fast:
            self._unsafe_pragmas(on=True)
        try:
            clinicians = self._clinicians(teams, seed)
            existing = Consult.objects.count()
            if reuse:
                templates = list(Consult.objects.only("id").order_by("id"))
                if not templates:
                    raise CommandError("--reuse: the database holds no consults to copy")
                added = max(0, consults - existing)
                how = f"copies of the {existing:,} already saved"
            else:
                templates = self._templates(min(distinct, consults), clinicians, rng)
                added = consults - len(templates)
                how = f"{len(templates)} through the engine and the service"
            t_templates = time.perf_counter()
            span = timedelta(days=365.25 * years)
            self._consults(added, templates, clinicians, rng, batch, span, first_number=Consult.objects.count() + 1)
            t_consults = time.perf_counter()
            self._events(events, clinicians, rng, batch, span)
            done = time.perf_counter()
        finally:
            if fast:
                self._unsafe_pragmas(on=False)
        total = Consult.objects.count()
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {total - existing:,} consults ({how} in {t_templates - started:.1f} s, the rest in "
            f"{t_consults - t_templates:.1f} s; {total:,} in the database) and {events:,} audit "
            f"events ({done - t_consults:.1f} s)."))

    @staticmethod
    def _unsafe_pragmas(*, on: bool) -> None:
        """SQLite: while seeding, no rollback journal and no fsync, and a large page cache (the events' indexes
        are written in random order); WAL again after, as the app's settings open it."""
        if connection.vendor != "sqlite":
            raise CommandError("--fast is for SQLite throwaway databases only")
        with connection.cursor() as cursor:
            if on:
                cursor.execute("PRAGMA journal_mode=OFF")
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-262144")  # KiB: 256 MiB
            else:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")

    def _clinicians(self, teams: int, seed: int) -> list:
        user_model = get_user_model()
        out = []
        for i in range(1, teams + 1):
            team, _ = Group.objects.get_or_create(name=f"Growth team {seed}-{i}")
            user, created = user_model.objects.get_or_create(
                username=f"growth-{seed}-{i}", defaults={"first_name": "Growth", "last_name": f"Clinician {i}"})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            user.groups.add(team)
            out.append((user, team))
        return out

    def _templates(self, n: int, clinicians: list, rng: random.Random) -> list[Consult]:
        """n consults of distinct workups, each evaluated by the engine and saved by the service."""
        saved = []
        for i, data in enumerate(random_workups(n, seed=rng.randrange(1 << 30))):
            workup = services.workup_parse(data=data)
            result = services.consult_evaluate(workup=workup)
            option_id, reason = _chosen(result)
            author, team = clinicians[i % len(clinicians)]
            saved.append(consults.consult_create(
                author=author, team=team, workup=workup, result=result, chosen_option_id=option_id,
                override_reason=reason, patient_identifier=f"GR-{i + 1:07d}"))
        return saved

    def _consults(self, n: int, templates: list[Consult], clinicians: list, rng: random.Random, batch: int,
                  span: timedelta, first_number: int) -> None:
        """n more consults, each a copy made by the database of a saved template's stored columns, with its own
        team, author, identifier and time (spread over the span, oldest first): INSERT ... SELECT in batches, so
        the stored content is neither read back nor serialized again."""
        if n <= 0 or not templates:
            return
        table, qn = Consult._meta.db_table, connection.ops.quote_name
        copied = [f.column for f in Consult._meta.concrete_fields if f.name not in OWN_FIELDS]
        own = ["team_id", "author_id", "patient_identifier", "created_at"]
        sql = (f"INSERT INTO {qn(table)} ({', '.join(qn(c) for c in own + copied)}) "
               f"SELECT {', '.join(['%s'] * len(own))}, {', '.join(qn(c) for c in copied)} "
               f"FROM {qn(table)} WHERE {qn('id')} = %s")
        ids = [t.pk for t in templates]
        start = timezone.now() - span
        step = span / max(n, 1)
        for first in range(0, n, batch):
            rows = []
            for i in range(first, min(first + batch, n)):
                author, team = rng.choice(clinicians)
                rows.append((team.pk, author.pk, f"GR-{first_number + i:07d}", start + step * i, rng.choice(ids)))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)

    def _events(self, n: int, clinicians: list, rng: random.Random, batch: int, span: timedelta) -> None:
        """n audit events on random consults by a clinician of the consult's team, oldest first."""
        if n <= 0:
            return
        ids = list(Consult.objects.values_list("id", "team_id"))
        if not ids:
            raise CommandError("no consults to record events on")
        by_team = {team.pk: user.pk for user, team in clinicians}
        fallback = clinicians[0][0].pk
        table, qn = AuditEvent._meta.db_table, connection.ops.quote_name
        # Consult events: no username tried, no detail (Django's defaults are not the database's).
        sql = (f"INSERT INTO {qn(table)} ({qn('at')}, {qn('user_id')}, {qn('consult_id')}, {qn('action')}, "
               f"{qn('username')}, {qn('detail')}) VALUES (%s, %s, %s, %s, '', '')")
        start = timezone.now() - span
        step = span / max(n, 1)
        for first in range(0, n, batch * 10):  # events are small rows
            rows = []
            for i in range(first, min(first + batch * 10, n)):
                consult_id, team_id = rng.choice(ids)
                rows.append((start + step * i, by_team.get(team_id, fallback), consult_id, rng.choice(EVENT_ACTIONS)))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, rows)
