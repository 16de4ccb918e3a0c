"""Django settings, all from the environment (twelve-factor).

Embedded default: SQLite and uploaded files under ``ONESTOP_DATA_DIR`` (default ``./var``),
with secrets generated into that folder on first start. Production: ``DATABASE_URL``
(PostgreSQL), ``ONESTOP_SECRET_KEY``, ``ONESTOP_FIELD_KEYS`` and ``ONESTOP_INDEX_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from onestop.config.secrets import secret_from_env_or_file

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ONESTOP_DATA_DIR", "var")).resolve()


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _flag("ONESTOP_DEBUG")
SECRET_KEY = secret_from_env_or_file("ONESTOP_SECRET_KEY", DATA_DIR / "secret_key", kind="django")
# Field encryption keys (Fernet, comma-separated; the first encrypts, all decrypt: rotation).
FIELD_ENCRYPTION_KEYS = secret_from_env_or_file(
    "ONESTOP_FIELD_KEYS", DATA_DIR / "field_keys", kind="fernet"
).split(",")
# Key for the keyed blind indexes of searchable encrypted fields (HMAC-SHA256).
BLIND_INDEX_KEY = secret_from_env_or_file("ONESTOP_INDEX_KEY", DATA_DIR / "index_key", kind="hex")
# E-licence seals (电子印章): keys per issuing body, made on first use in this folder
# (private keys mode 0600), rotated with `manage.py seal_keys rotate`. SM2-SM3 or Ed25519.
SEAL_KEYS_DIR = Path(os.environ.get("ONESTOP_SEAL_KEYS_DIR") or DATA_DIR / "seal-keys").resolve()
SEAL_ALGORITHM = os.environ.get("ONESTOP_SEAL_ALGORITHM", "SM2-SM3")

ALLOWED_HOSTS = [h for h in os.environ.get("ONESTOP_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("ONESTOP_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # serves the API docs' Swagger UI files locally (no CDN)
    "onestop.accounts",
    "onestop.reference",
    "onestop.calendar",
    "onestop.audit",
    "onestop.cases",
    "onestop.workflow",
    "onestop.notifications",
    "onestop.certificates",
    "onestop.hospitals",
    "onestop.portal",
    "onestop.departments",
    "onestop.counter",
    "onestop.supervision",
    "onestop.integration",
    "onestop.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "onestop.common.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "onestop.config.urls"
WSGI_APPLICATION = "onestop.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_sqlite_default = f"sqlite:///{DATA_DIR / 'onestop.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _sqlite_default), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker process read while one writes; IMMEDIATE
    # transactions take the write lock at BEGIN, so two writers queue instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if os.environ.get("ONESTOP_TEST_DB_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["ONESTOP_TEST_DB_NAME"]}
else:
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("ONESTOP_TEST_DB_NAME", "test_onestop"),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploaded materials live under DATA_DIR/media and are never served from a public path:
    # only views that check role and jurisdiction stream them.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "media"), "base_url": "/never-public/"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

TASKS = {
    "default": {
        "BACKEND": os.environ.get("ONESTOP_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("ONESTOP_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Uploaded materials: what we accept (checked by content, not by name).
MATERIAL_MAX_BYTES = int(os.environ.get("ONESTOP_MATERIAL_MAX_BYTES", 10 * 1024 * 1024))

# SMS: "outbox" writes each message to the outbox table and to DATA_DIR/sms.log (the
# embedded default); a real gateway plugs in here.
SMS_BACKEND = os.environ.get("ONESTOP_SMS_BACKEND", "onestop.notifications.sms.FileSmsBackend")
SMS_LOG = DATA_DIR / "sms.log"

# Outbox recovery (SMS and webhooks): a webhook send is leased this long, and the worker's
# sweeps (every half of it, at most every minute) take back a message still unsent this long
# after it was due — e.g. when its worker was killed mid-send. Must exceed the webhook HTTP
# timeout (10 s); the fault-injection test shortens it.
OUTBOX_RECOVERY_SECONDS = max(20, int(os.environ.get("ONESTOP_OUTBOX_RECOVERY_SECONDS", 120)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "onestop.core.logscrub.ScrubPersonalData"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["scrub"], "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("ONESTOP_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
