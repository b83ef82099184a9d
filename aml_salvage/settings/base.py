"""Settings shared by every environment; dev, test and production only override."""

from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF

from .env import env_bool, env_float, env_int, env_json, env_list, env_networks, env_str

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
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "django_htmx",
    "template_partials",
    "health_check",
    "aml_salvage",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Compression happens here, not at nginx: Django's GZipMiddleware pads each response with up to 100
    # random bytes ("Heal The Breach"), which makes BREACH (guessing a secret on a page, such as a patient
    # identifier, from compressed sizes) harder; nginx's gzip has no such padding. See README, "nginx and TLS".
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session passed the second factor (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # Renews the idle timeout at most once a minute (not a session write per request).
    "aml_salvage.middleware.SessionActivityMiddleware",
    # Cache-Control: no-store on every signed-in response (patient data; shared ward workstations).
    "aml_salvage.middleware.NoStoreMiddleware",
    # Default-deny: every view needs a signed-in user unless marked @login_not_required (the login page).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Then the second factor: staff (and clinicians, if required) reach nothing but the two-factor pages and
    # sign-out until this session has passed it (aml_salvage/accounts.py, mfa_required).
    "aml_salvage.middleware.MfaRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "aml_salvage.urls"
WSGI_APPLICATION = "aml_salvage.wsgi.application"

TEMPLATES = [
    {
        # The clinical components the live panel, the saved page, the option details and the PDF share
        # (aml_salvage/jinja_env.py); found first, by name, before the Django pages below.
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "aml_salvage.jinja_env.environment",
            "context_processors": ["django.contrib.auth.context_processors.auth"],  # the print header's clinician
        },
    },
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

# SQLite in WAL mode (readers never block the writer), a 20 s busy timeout, and BEGIN IMMEDIATE for every
# transaction: a transaction that reads and then writes takes the write lock up front, so concurrent saves
# wait their turn instead of failing with "database is locked" when they upgrade from reading to writing.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
        "OPTIONS": SQLITE_OPTIONS,
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

# Sign-out after 30 minutes of inactivity. The expiry is renewed by SessionActivityMiddleware at most once
# per AML_SALVAGE_SESSION_RENEW_SECONDS, rather than by a session write on every request.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False
AML_SALVAGE_SESSION_RENEW_SECONDS = 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# And an absolute limit, however active the session: signed out this long after signing in (sign-in stamps
# the session; SessionActivityMiddleware ends it).
AML_SALVAGE_SESSION_MAX_AGE_SECONDS = env_int("AML_SALVAGE_SESSION_MAX_AGE_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
# Database sessions: a sign-out, an expiry or a deactivation holds at once on every app server.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Sign-in throttling (django-axes; attempts are kept in the database, so every app server sees them) ----
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username + address before checking
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Two independent counts, each paused at AXES_FAILURE_LIMIT failures within AXES_COOLOFF_TIME: per username
# (guessing one account from many addresses) and per address (spraying passwords over many usernames).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not wipe the failures before it: they expire only with the cool-off.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address: REMOTE_ADDR, or, when REMOTE_ADDR is a trusted proxy, the X-Forwarded-For entry it added.
AXES_CLIENT_IP_CALLABLE = "aml_salvage.audit.client_ip"
# How many reverse proxies (nginx, a load balancer) append to X-Forwarded-For in front of the app. 0 (the
# default): X-Forwarded-For is ignored, the address is REMOTE_ADDR.
AML_SALVAGE_TRUSTED_PROXY_COUNT = env_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
# The addresses those proxies connect from (addresses or networks, comma-separated). A request from any
# other address (gunicorn reached directly) is taken at its REMOTE_ADDR whatever X-Forwarded-For says.
AML_SALVAGE_TRUSTED_PROXIES = env_networks("DJANGO_TRUSTED_PROXIES", ["127.0.0.1/32", "::1/128"])

# --- Two-factor sign-in (django-otp: an authenticator app's TOTP code, or a one-time recovery code) ----------
# Always required for staff (they see every team's consults and the audit trail). For clinicians, a
# setting: off here (development, tests), on by default in production (settings/production.py).
AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS = env_bool("AML_SALVAGE_MFA_REQUIRED_FOR_CLINICIANS", False)
OTP_TOTP_ISSUER = "AML Salvage"
AML_SALVAGE_RECOVERY_CODES = 10
# A reset link issued by staff (no email) is valid for one use, and for a day at most.
PASSWORD_RESET_TIMEOUT = 24 * 3600

# --- Browser security headers ---------------------------------------------------------------------
# Nothing from other hosts, no inline script or style (htmx's own indicator style is switched off in
# base.html), no framing. Django's defaults add nosniff, Referrer-Policy same-origin and COOP same-origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"

# --- Logging ----------------------------------------------------------------------------------------
# Never request bodies, never SQL with its parameters (it would carry workups and identifiers), even when
# DEBUG is on. django.request logs method, path (a consult appears by id only) and status.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"level": "INFO"},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "aml_salvage": {"level": "INFO"},
    },
}

# --- AML Salvage ---------------------------------------------------------------------------------
# The clinical knowledge base (YAML, validated at load). A missing or invalid knowledge base stops
# start-up rather than serving partial advice.
AML_SALVAGE_KNOWLEDGE_DIR = Path(env_str("AML_SALVAGE_KNOWLEDGE_DIR", str(BASE_DIR / "fixtures" / "knowledge")))
# The validated knowledge base, cached by a hash of its files and of the schema code (aml_salvage/knowledge_cache.py).
AML_SALVAGE_KNOWLEDGE_CACHE_DIR = Path(
    env_str("AML_SALVAGE_KNOWLEDGE_CACHE_DIR", str(BASE_DIR / ".cache" / "knowledge")))
# Institutional BSA cap in m² (None: no cap, ASCO guidance). Printed on every dose when applied.
AML_SALVAGE_BSA_CAP_M2 = env_float("AML_SALVAGE_BSA_CAP_M2", None)
AML_SALVAGE_INSTITUTION = env_str("AML_SALVAGE_INSTITUTION", "")  # printed once; omitted when unset
AML_SALVAGE_PAPER_SIZE = env_str("AML_SALVAGE_PAPER_SIZE", "letter")
# The jurisdiction a new workup starts with (drug availability); the clinician can change it per consult.
AML_SALVAGE_DEFAULT_JURISDICTION = env_str("AML_SALVAGE_DEFAULT_JURISDICTION", "CA")
# One cache every app server shares (a database table, created by migration 0006): the only entries are the
# CDS Hooks patient-view pre-fill inputs, which a link handed out by one server must find on another.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "aml_salvage_cache",
    }
}

# --- CDS Hooks (EHR integration, aml_salvage/cds_hooks) ---------------------------------------------------
# Each hook call carries a JWT signed by the EHR (CDS Hooks 2.0): accepted only from these issuers (their
# "iss"), verified with the public keys of this JWK Set (a file path, or the JSON itself), with aud = the
# service's URL, exp, iat and a jti not seen before. No issuer configured: every hook call is refused.
AML_SALVAGE_CDS_HOOKS_ISSUERS = env_list("AML_SALVAGE_CDS_HOOKS_ISSUERS", [])
AML_SALVAGE_CDS_HOOKS_JWKS = env_json("AML_SALVAGE_CDS_HOOKS_JWKS", file_name="AML_SALVAGE_CDS_HOOKS_JWKS_FILE",
                                      default={"keys": []})
# The public base URL of this app as the EHR calls it (e.g. https://aml.example.org), for the audience check
# behind a proxy; empty: the URL of the request as received.
AML_SALVAGE_CDS_HOOKS_BASE_URL = env_str("AML_SALVAGE_CDS_HOOKS_BASE_URL", "")
# How long the patient-view card's link pre-fills the workspace (its token and the stored inputs), seconds.
AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS = env_int("AML_SALVAGE_CDS_HOOKS_PREFILL_SECONDS", 600)
