"""Settings from environment variables, with safe defaults for the embedded mode of `make run`.

Embedded mode (no DATABASE_URL): SQLite file, tasks run in-process. Tests and production set DATABASE_URL
(PostgreSQL) and REDIS_URL, and run real Celery workers.
"""
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "embedded-insecure-key-set-SECRET_KEY-in-production")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "allauth",
    "allauth.account",
    "controlhub",
    "users",
    "calling",
    "devices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "controlhub.portal.middleware.OrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "controlhub.urls"
WSGI_APPLICATION = "controlhub.wsgi.application"

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
                "django.template.context_processors.i18n",
                "controlhub.portal.context.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'controlhub.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMBEDDED = DATABASES["default"]["ENGINE"].endswith("sqlite3")

AUTH_USER_MODEL = "controlhub.Account"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# django-allauth: email is the sign-in name; nobody signs up on their own (admins invite people).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "controlhub.auth.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "/accounts/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))
# The session cookie dies with the browser unless "Remember me" was ticked (then it lasts SESSION_COOKIE_AGE);
# either way the server forgets a session after SESSION_COOKIE_AGE.
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Pages carry the CSRF token in their forms and htmx headers; no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
# Failed password sign-ins per client address and per email before sign-in is refused for a while (allauth).
ACCOUNT_RATE_LIMITS = {
    "login_failed": os.environ.get("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
}
ACCOUNT_FORMS = {"login": "controlhub.auth.EmailFirstLoginForm"}
# A password reset for an unknown address sends nothing (no mail to strangers through this server).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Seconds an invitation (welcome) link to set a first password stays valid (users/invitations.py).
INVITATION_MAX_AGE = int(os.environ.get("INVITATION_MAX_AGE", str(7 * 24 * 3600)))
# Rate limits (sign-in throttling) live in the cache: set CACHE_URL=redis://… when several web processes serve
# the portal, so they share the counts; the default is per process.
if os.environ.get("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["CACHE_URL"], "KEY_PREFIX": "controlhub"}}

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sv", "Svenska")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise scans it at start-up; empty until collectstatic
# Serve straight from the apps' static folders unless collectstatic was run (production can turn this off).
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "controlhub")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "controlhub@localhost")

# Public base URL of this portal: used for absolute `Link: rel="next"` URLs when behind a proxy.
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "controlhub.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["controlhub.auth.IsAdministrator"],   # people: only people/me
    "DEFAULT_RENDERER_CLASSES": ["controlhub.api.renderers.WebexJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["controlhub.api.parsers.AnyJSONParser"],
    "EXCEPTION_HANDLER": "controlhub.api.errors.webex_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "controlhub /v1 API",
    "DESCRIPTION": "Webex-shaped administration API: existing Webex scripts (wxc-sdk) work by changing the base URL.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/v1",
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
# Embedded mode runs tasks in-process; with a real broker they go to workers.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", EMBEDDED)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# SIP domain suffix: an organisation's SIP domain is <slug>.<suffix> unless set explicitly.
SIP_DOMAIN_SUFFIX = os.environ.get("SIP_DOMAIN_SUFFIX", "calls.controlhub.local")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# Call engine (calling/engine): "kamailio" pushes lines, credentials, dial plans and gateways to Kamailio
# (deploy/kamailio.sh runs it); "none" = not configured, pushes report "not configured".
CALL_ENGINE = os.environ.get("CALL_ENGINE", "none")
ENGINE_DATABASE_URL = os.environ.get("ENGINE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/controlhub_engine")
ENGINE_RPC_URL = os.environ.get("ENGINE_RPC_URL", "http://127.0.0.1:5071/RPC")
ENGINE_SIP_ADDRESS = os.environ.get("ENGINE_SIP_ADDRESS", "127.0.0.1:5060")
# At most one dial plan/gateway reload per this many seconds (Kamailio itself refuses reloads within 1 s).
ENGINE_RELOAD_INTERVAL = float(os.environ.get("ENGINE_RELOAD_INTERVAL", "2"))
ENGINE_TIMEOUT = float(os.environ.get("ENGINE_TIMEOUT", "5"))   # connect and JSON-RPC timeout, seconds

# Uploaded bulk files and their error reports (Job.input_file / Job.error_file are relative to this folder).
JOB_FILES_DIR = Path(os.environ.get("JOB_FILES_DIR", BASE_DIR / "var" / "jobs"))

# Push pipeline (controlhub/sync): beat re-enqueues anything whose pushed version lags its desired version.
CELERY_BEAT_SCHEDULE = {
    "reconcile-lagging-pushes": {"task": "controlhub.sync.tasks.reconcile_lagging", "schedule": 30.0},
    "forget-deleted-sync-records": {"task": "controlhub.sync.tasks.forget_deleted", "schedule": 3600.0},
}
SYNC_TASK_QUEUE = os.environ.get("SYNC_TASK_QUEUE") or None   # None: the default queue
SYNC_MAX_ATTEMPTS = int(os.environ.get("SYNC_MAX_ATTEMPTS", "8"))
SYNC_BACKOFF_BASE = float(os.environ.get("SYNC_BACKOFF_BASE", "2"))
SYNC_BACKOFF_MAX = float(os.environ.get("SYNC_BACKOFF_MAX", "300"))

# Per-organisation SAML SSO (users/sso/, python3-saml). The SP key pair signs our AuthnRequests and logout
# messages and is published in every organisation's SP metadata; generated with openssl on first use unless set.
SSO_SP_KEY_FILE = Path(os.environ.get("SSO_SP_KEY_FILE", BASE_DIR / "var" / "sso" / "sp.key"))
SSO_SP_CERT_FILE = Path(os.environ.get("SSO_SP_CERT_FILE", BASE_DIR / "var" / "sso" / "sp.crt"))
# Base URL of our SP endpoints (entity ID, ACS) as the IdPs know them; empty: PUBLIC_BASE_URL, else the request's.
SSO_BASE_URL = os.environ.get("SSO_BASE_URL", "")
# Seconds an AuthnRequest stays answerable; assertions are remembered (replay) until their NotOnOrAfter + this.
SSO_REQUEST_MAX_AGE = int(os.environ.get("SSO_REQUEST_MAX_AGE", "600"))

# Phone provisioning server (devices/provisioning/server.py, its own process; DESIGN section 2).
# PROVISIONING_URL: the base phones use (behind HTTPS in production): hand `<PROVISIONING_URL>/<org key>/` to phones
# through DHCP option 66/150/160 or their web page. PROVISIONING_PUSH_URL: where workers push files (same server,
# possibly an internal address). PROVISIONING_PUSH_TOKEN: bearer secret of the push API, shared with the server.
PROVISIONING_URL = os.environ.get("PROVISIONING_URL", "http://127.0.0.1:8480").rstrip("/")
# Empty push URL: workers write PROVISIONING_STORE directly (the default in embedded mode: one host, no HTTP push).
PROVISIONING_PUSH_URL = os.environ.get("PROVISIONING_PUSH_URL", "" if EMBEDDED else PROVISIONING_URL).rstrip("/")
PROVISIONING_PUSH_TOKEN = os.environ.get("PROVISIONING_PUSH_TOKEN", "embedded-insecure-push-token")
PROVISIONING_STORE = Path(os.environ.get("PROVISIONING_STORE", BASE_DIR / "var" / "provisioning"))
PROVISIONING_HTTP_AUTH = env_bool("PROVISIONING_HTTP_AUTH", True)   # per-device HTTP credentials on device files
PROVISIONING_TIMEOUT = float(os.environ.get("PROVISIONING_TIMEOUT", "5"))  # push connect/read timeout, seconds
# Registrar written into device files (empty: the organisation's SIP domain) and the outbound proxy (the engine).
PROVISIONING_SIP_PROXY = os.environ.get("PROVISIONING_SIP_PROXY", "")
PROVISIONING_OUTBOUND_PROXY = os.environ.get("PROVISIONING_OUTBOUND_PROXY", ENGINE_SIP_ADDRESS)
# A device that has not fetched its file for this long is shown offline (phones resync hourly; see mpp.py).
PROVISIONING_OFFLINE_AFTER = int(os.environ.get("PROVISIONING_OFFLINE_AFTER", str(2 * 3600 + 600)))
# Copy the provisioning server's seen log into devices (first/last seen, online/offline).
CELERY_BEAT_SCHEDULE["import-provisioning-seen"] = {
    "task": "devices.provisioning.import_seen", "schedule": float(os.environ.get("PROVISIONING_SEEN_INTERVAL", "60"))}
# Whether each registering trunk (local gateway) is registered: asked of the engine by beat, never in a request.
TRUNK_REGISTRATION_INTERVAL = float(os.environ.get("TRUNK_REGISTRATION_INTERVAL", "30"))
CELERY_BEAT_SCHEDULE["refresh-trunk-registrations"] = {
    "task": "calling.refresh_trunk_registrations", "schedule": TRUNK_REGISTRATION_INTERVAL}
CELERY_IMPORTS = ("calling.gateways",)   # its beat task lives beside the code it checks
