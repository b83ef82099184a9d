"""Production: configured from the environment only (see README, "Deploying").

Required: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS. Optional: DATABASE_URL (default: SQLite file
db.sqlite3 in the project directory), MIGRATION_DATABASE_URL (PostgreSQL: the schema owner's role),
DJANGO_TRUSTED_PROXY_COUNT, DJANGO_CSRF_TRUSTED_ORIGINS,
DJANGO_SECURE_HSTS_SECONDS, DJANGO_SECURE_HSTS_PRELOAD, DJANGO_STATIC_ROOT, DJANGO_SECURE_SSL_REDIRECT
(loopback load tests only) and the AML_SALVAGE_* settings of base.py (AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS
defaults to on here).
"""

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import BASE_DIR, MIDDLEWARE, SQLITE_OPTIONS
from .env import env_bool, env_int, env_list, env_str

DEBUG = False

SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("insecure-") or SECRET_KEY.startswith("django-insecure-"):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be at least 50 random characters, e.g. from "
        "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`"
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must name the host(s) clinicians use, comma-separated")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# --- Database ------------------------------------------------------------------------------------------
# One machine: a SQLite file (WAL, busy timeout). Several app servers: one PostgreSQL (psycopg 3), e.g.
# DATABASE_URL=postgres://aml:PASSWORD@db.example.org:5432/aml_salvage
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The connection is kept too (conn_max_age above): otherwise every request opens the file and sets WAL
    # again (bench/results.md has the cost). Each gunicorn sync worker has its own connection.
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
elif DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:/// or postgres:// URL")
# Two roles on PostgreSQL (README, "Security and audit"): DATABASE_URL is the runtime role, which owns nothing
# and holds only what `grant_runtime_role` gives it; MIGRATION_DATABASE_URL is the schema's owner, used only by
# `manage.py migrate --database owner` and `manage.py grant_runtime_role` (never by the app servers).
MIGRATION_DATABASE_URL = env_str("MIGRATION_DATABASE_URL")
if MIGRATION_DATABASE_URL:
    DATABASES["owner"] = dj_database_url.parse(MIGRATION_DATABASE_URL)
    runtime, owner = DATABASES["default"], DATABASES["owner"]
    if runtime["ENGINE"] != "django.db.backends.postgresql" or owner["ENGINE"] != runtime["ENGINE"]:
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL is for PostgreSQL: set it only with a postgres:// "
                                   "DATABASE_URL (SQLite has no roles)")
    if (owner["HOST"], owner["PORT"], owner["NAME"]) != (runtime["HOST"], runtime["PORT"], runtime["NAME"]):
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL must name the same host, port and database as "
                                   "DATABASE_URL, with the owner's role")
    if owner["USER"] == runtime["USER"]:
        raise ImproperlyConfigured("MIGRATION_DATABASE_URL and DATABASE_URL must use two different roles: the "
                                   "app's runtime role must not own the tables")

# --- HTTPS ---------------------------------------------------------------------------------------------
# TLS ends at the reverse proxy (nginx), which must set X-Forwarded-Proto (and overwrite any sent by the
# client). Cookies only over HTTPS; browsers remember to use HTTPS for a year.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Only `make loadtest` (plain HTTP on 127.0.0.1) turns the redirect off; a real deployment never does.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# The load balancer may probe the health endpoint over plain HTTP on the private network (it reveals only
# ok and the knowledge-base version): no redirect there.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)

# --- Two-factor sign-in --------------------------------------------------------------------------------
# Clinicians see patient identifiers: a second factor by default (a site whose network sign-in already
# has one can turn it off with AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS=false). Staff always need it.
AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS = env_bool("AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS", True)

# --- Static files: WhiteNoise, from STATIC_ROOT after `collectstatic` -------------------------------------
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
