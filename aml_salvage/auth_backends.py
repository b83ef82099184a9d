"""Authentication backend: Django's ModelBackend, with the per-request user read done by one fixed query.

Every signed-in request loads its user. Django's backend builds ``User.objects.get(pk=…)`` through the
ORM each time (about 0.2 ms of the live update); this one runs the same SELECT from SQL composed once
per database connection, and converts each column with the converters Django's own compiler gives for it
(so a datetime is aware and a boolean a bool, as the ORM returns them). Sign-in (password check),
``is_active``, permissions and the session-hash check that signs a clinician out everywhere after a
password change are all Django's, unchanged.
"""

from __future__ import annotations

import threading

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.db import connections, router


class _UserSelect:
    """The SELECT of one user by primary key on one connection, and how to turn its row into a model."""

    def __init__(self, model, connection):
        q = connection.ops.quote_name
        fields = model._meta.concrete_fields
        self.sql = (f"SELECT {', '.join(q(f.column) for f in fields)} FROM {q(model._meta.db_table)} "
                    f"WHERE {q(model._meta.pk.column)} = %s")
        self.names = [f.attname for f in fields]
        compiler = connection.ops.compiler("SQLCompiler")(model._default_manager.all().query, connection,
                                                            connection.alias)
        self.converters = list(compiler.get_converters([f.get_col(model._meta.db_table) for f in fields]).items())

    def row_values(self, row, connection) -> list:
        values = list(row)
        for pos, (converters, expression) in self.converters:
            for converter in converters:
                values[pos] = converter(values[pos], expression, connection)
        return values


_selects = threading.local()  # a connection belongs to one thread; so do the converters bound to it


def _select_for(model, connection) -> _UserSelect:
    cache = getattr(_selects, "by_connection", None)
    if cache is None:
        cache = _selects.by_connection = {}
    key = (model._meta.label, connection.alias)
    select = cache.get(key)
    if select is None:
        select = cache[key] = _UserSelect(model, connection)
    return select


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        model = get_user_model()
        alias = router.db_for_read(model)
        connection = connections[alias]
        select = _select_for(model, connection)
        pk = model._meta.pk.get_db_prep_value(model._meta.pk.to_python(user_id), connection)
        with connection.cursor() as cursor:
            cursor.execute(select.sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        user = model.from_db(alias, select.names, select.row_values(row, connection))
        return user if self.user_can_authenticate(user) else None
