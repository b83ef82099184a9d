"""Settings of the benchmark server (`make bench`): production's, on loopback over plain HTTP.

DEBUG off, cached template loaders, WhiteNoise serving `collectstatic` output, SQLite with production's
options, sessions and every middleware as deployed. Only what a loopback benchmark needs differs: a
throwaway database and static root (given by bench/run.py), no HTTPS redirect, 127.0.0.1 allowed, and the
bench URLs (the product's plus the baseline view, bench/urls_bench.py).

bench/run.py sets the environment below for the gunicorn workers; the defaults here serve in-process use.
"""

import os
import secrets
import tempfile
from pathlib import Path

_TMP = Path(tempfile.gettempdir())
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(64))  # run.py passes one key to all workers
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "false"  # plain HTTP on loopback
os.environ.setdefault("DJANGO_STATIC_ROOT", str(_TMP / "aml-salvage-bench-static"))
BENCH_DB = os.environ.get("AML_BENCH_DB", str(_TMP / "aml-salvage-bench.sqlite3"))
os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DB}"

try:
    from aml_salvage.settings.production import *  # noqa: F403
    from aml_salvage.settings.production import DATABASES, TEMPLATES

    SETTINGS_BASE = "aml_salvage.settings.production"
except ImportError:  # a checkout without production settings: base, with production's essentials
    from aml_salvage.settings.base import *  # noqa: F403
    from aml_salvage.settings.base import DATABASES, TEMPLATES

    SETTINGS_BASE = "aml_salvage.settings.base"
    DEBUG = False
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
    ALLOWED_HOSTS = os.environ["DJANGO_ALLOWED_HOSTS"].split(",")
    STATIC_ROOT = os.environ["DJANGO_STATIC_ROOT"]
    DATABASES["default"]["NAME"] = BENCH_DB

ROOT_URLCONF = "bench.urls_bench"
_DJANGO_ENGINE = next(t for t in TEMPLATES if t["BACKEND"].endswith("DjangoTemplates"))
_DJANGO_ENGINE["DIRS"] = [*_DJANGO_ENGINE["DIRS"], Path(__file__).resolve().parent / "templates"]
