# The personas of tests/web/conftest.py, for the PostgreSQL-only tests here.
from tests.web.conftest import author, team  # noqa: F401
