"""Settings shared by every environment; dev, test and production only override."""

from pathlib import Path

from .env import env_float, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-dev-key-not-for-production")
DEBUG = False
ALLOWED_HOSTS: list[str] = []

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "aml_salvage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Result fragments are ~100 KB of repetitive HTML, ~20 KB compressed (Django adds BREACH padding).
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Default-deny: every view needs a signed-in user unless marked @login_not_required (the login page).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "aml_salvage.urls"
WSGI_APPLICATION = "aml_salvage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "America/Toronto")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "workspace"
LOGOUT_REDIRECT_URL = "login"

# Sign-out after 30 minutes of inactivity: the cookie's age is renewed on every request.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True

# --- AML Salvage ---------------------------------------------------------------------------------
# The clinical knowledge base (YAML, validated at load). A missing or invalid knowledge base stops
# start-up rather than serving partial advice.
AML_SALVAGE_KNOWLEDGE_DIR = Path(env_str("AML_SALVAGE_KNOWLEDGE_DIR", str(BASE_DIR / "fixtures" / "knowledge")))
# Institutional BSA cap in m² (None: no cap, ASCO guidance). Printed on every dose when applied.
AML_SALVAGE_BSA_CAP_M2 = env_float("AML_SALVAGE_BSA_CAP_M2", None)
AML_SALVAGE_INSTITUTION = env_str("AML_SALVAGE_INSTITUTION", "AML Salvage — institution not configured")
AML_SALVAGE_PAPER_SIZE = env_str("AML_SALVAGE_PAPER_SIZE", "letter")
# The jurisdiction a new workup starts with (drug availability); the clinician can change it per consult.
AML_SALVAGE_DEFAULT_JURISDICTION = env_str("AML_SALVAGE_DEFAULT_JURISDICTION", "CA")
