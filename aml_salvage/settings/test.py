from .base import *  # noqa: F403
from .base import INSTALLED_APPS

DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins only
# Saved consults and audit events refuse DELETE and TRUNCATE unconditionally (migration 0004). Tests empty
# them after transactional tests with this test-only app's `flush`, which sets the triggers aside as the
# tables' owner; production has no such app (tests/dbsupport/management/commands/flush.py).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.dbsupport"]
