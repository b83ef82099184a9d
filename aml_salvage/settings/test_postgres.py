"""The test settings against a real PostgreSQL server (started by tests/postgres/with_postgres.sh)."""

from .env import env_str
from .test import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": env_str("AML_SALVAGE_PG_HOST", required=True),
        "PORT": env_str("AML_SALVAGE_PG_PORT", required=True),
        "NAME": env_str("AML_SALVAGE_PG_NAME", "aml_salvage"),
        "USER": env_str("AML_SALVAGE_PG_USER", "postgres"),
        "TEST": {"NAME": "test_aml_salvage"},
    }
}
