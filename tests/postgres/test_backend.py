"""Proves which database the suite ran on, so a PostgreSQL run cannot silently fall back to SQLite."""

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_database_backend_matches_the_settings():
    expected = "postgresql" if os.environ.get("DJANGO_SETTINGS_MODULE", "").endswith("test_postgres") else "sqlite"
    assert connection.vendor == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
