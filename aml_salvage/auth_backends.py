"""Authentication backend: Django's ModelBackend, with the per-request user read done by one fixed query.

Every signed-in request loads its user. Django's backend builds ``User.objects.get(pk=…)`` through the
ORM each time (about 0.15 ms of the live update); this one runs the same SELECT from SQL composed once
per database, through ``Manager.raw`` so every column is converted exactly as the ORM converts it.
Sign-in (password check), ``is_active``, permissions and the session-hash check that signs a clinician
out everywhere after a password change are all Django's, unchanged.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connections, router

_SQL: dict[tuple[str, str], str] = {}  # by (model label, database alias)


def _select_sql(model, alias: str) -> str:
    sql = _SQL.get((model._meta.label, alias))
    if sql is None:
        q = connections[alias].ops.quote_name
        columns = ", ".join(q(f.column) for f in model._meta.concrete_fields)
        sql = _SQL[(model._meta.label, alias)] = (
            f"SELECT {columns} FROM {q(model._meta.db_table)} WHERE {q(model._meta.pk.column)} = %s"
        )
    return sql


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        alias = router.db_for_read(model)
        pk = model._meta.pk.get_db_prep_value(model._meta.pk.to_python(user_id), connections[alias])
        user = next(iter(model._default_manager.db_manager(alias).raw(_select_sql(model, alias), [pk])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
