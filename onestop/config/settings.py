"""Django settings, all from the environment (twelve-factor).

Embedded default: SQLite and uploaded files under ``ONESTOP_DATA_DIR`` (default ``./var``),
with secrets generated into that folder on first start. Production: ``DATABASE_URL``
(PostgreSQL), ``ONESTOP_SECRET_KEY``, ``ONESTOP_FIELD_KEYS`` and ``ONESTOP_INDEX_KEY``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from onestop.config.deployment import (
    database_from_url,
    database_routers,
    replica_database,
    storage_from_url,
)
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
# Audit chain keys (HMAC-SHA256, comma-separated; the first signs new records, all verify:
# rotation). Kept outside the database so a database editor cannot recompute the chain.
AUDIT_KEYS = secret_from_env_or_file("ONESTOP_AUDIT_KEY", DATA_DIR / "audit_key", kind="hex").split(
    ","
)
# Signed anchors of the audit log are also appended here (mode 0600), outside the database.
AUDIT_ANCHOR_FILE = Path(
    os.environ.get("ONESTOP_AUDIT_ANCHOR_FILE") or DATA_DIR / "audit-anchors.jsonl"
).resolve()
# The seal-key issuer whose key signs the anchors (`manage.py seal_keys rotate --issuer`).
AUDIT_ANCHOR_ISSUER = os.environ.get("ONESTOP_AUDIT_ANCHOR_ISSUER", "platform-audit")

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
    "onestop.handover",
    "onestop.guidance",
    "onestop.hotline",
    "onestop.ratings",
    "onestop.corrections",
    "onestop.integration",
    "onestop.ops",
]

MIDDLEWARE = [
    # --- HTTP hardening (issue 8, ADR 0018): odd bytes 400, database down 503, limits 429 ---
    "onestop.common.httpguard.RefuseOddRequestsMiddleware",
    "onestop.common.httpguard.ErrorResponsesMiddleware",
    # --- end HTTP hardening ---
    "django.middleware.security.SecurityMiddleware",
    "onestop.common.middleware.ApiBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # --- HTTP hardening: CSP header, no-store on pages with personal data ---
    "onestop.common.httpguard.ContentSecurityPolicyMiddleware",  # django-csp's, kept text
    "onestop.common.httpguard.PrivateResponsesMiddleware",
    # --- end HTTP hardening ---
    "onestop.common.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # --- for browsers only: an /api/ request (bearer token) passes from BrowserOnlyStart
    # straight past BrowserOnlyEnd (ADR 0024 amendment of session 27). The staff sign-in's
    # middleware (below, "Sign-in and trust") are put inside this block too. ---
    "onestop.common.middleware.BrowserOnlyStart",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, with the user read in the session's own SELECT (ADR 0026 amendment).
    "onestop.accounts.sessions.AuthenticationMiddleware",
    # Django's, the message storage made when a page uses it (issue 10).
    "onestop.common.middleware.LazyMessageMiddleware",
    "onestop.common.middleware.BrowserOnlyEnd",
    # --- end for browsers only ---
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
            # Dates as people write them on every page: {{ value|written }}.
            "builtins": ["onestop.common.templatetags.written_tags"],
            # base.html's header: its URLs reversed once per process ({% nav_url %}).
            "libraries": {"nav_tags": "onestop.common.templatetags.nav_tags"},
        },
    },
]

_sqlite_default = f"sqlite:///{DATA_DIR / 'onestop.sqlite3'}"
DATABASES = {
    "default": database_from_url(
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
    # Issue 10, ADR 0045: Django's PostgreSQL backend whose health check of a reused
    # connection looks at the connection's socket instead of running SELECT 1 (a
    # transaction per request); it asks the server only when the socket has news.
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "onestop.common.postgresql"
    # The product's statements are short lookups by key: PostgreSQL's JIT compiler, which
    # kicks in on cost estimates, spent more time compiling them than running them (issue
    # 10: a case lookup's p50 17 ms with JIT, 5.5 ms without). ONESTOP_PG_JIT=on keeps it.
    if os.environ.get("ONESTOP_PG_JIT", "off") != "on":
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    # Issue 10: psycopg binds parameters on the server and prepares a statement once a
    # connection has run it 5 times (psycopg's default threshold; Django's default is
    # never): PostgreSQL then neither parses nor plans it again. Planning was ~40 % of
    # the database's time for the product's short statements (pg_stat_statements), and a
    # parent's rendered page cost the database 1.9 → 0.9 ms of CPU (docs/performance.md,
    # session 21). ONESTOP_PG_PREPARE=off where a pooler between cannot carry prepared
    # statements (PgBouncer in transaction mode before 1.21's max_prepared_statements).
    if os.environ.get("ONESTOP_PG_PREPARE", "on") != "off":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
    # Issue 10: persistent connections (the default) are health-checked with a SELECT 1
    # each time a request reuses one — a transaction per request. ONESTOP_PG_POOL=on uses
    # Django's psycopg pool instead (no per-request check; a broken connection is dropped
    # when it is given back). Measured side by side in docs/performance.md.
    if os.environ.get("ONESTOP_PG_POOL", "off") == "on":
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": int(os.environ.get("ONESTOP_PG_POOL_SIZE", "8")),
        }

# Read replica (ADR 0027): DATABASE_REPLICA_URL adds the alias "replica"; the supervision
# reports and the public verification read from it (a miss falls back to the primary),
# everything else uses the primary ("default").
_replica = replica_database(os.environ.get("DATABASE_REPLICA_URL", ""), DATABASES["default"])
if _replica is not None:
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = database_routers()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Argon2id at OWASP's m=19 MiB, t=2, p=1 (ADR 0026; Django's default, 100 MiB over 8 lanes,
# made a staff sign-in cost ~300 ms of CPU and stall the web worker). Older hashes verify
# with the parameters they carry and are re-hashed at the next sign-in.
PASSWORD_HASHERS = [
    "onestop.accounts.hashers.Argon2idHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# (password validators: see "Sign-in and trust" below)

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
    # only views that check role and jurisdiction stream them. With ONESTOP_STORAGE_URL
    # (s3://…) they live in S3-compatible object storage instead, shared by every machine
    # (ADR 0027); either way the product encrypts each file before it leaves (ADR 0014).
    "default": storage_from_url(os.environ.get("ONESTOP_STORAGE_URL", ""), DATA_DIR / "media"),
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

# Database sessions (ADR 0026) whose row names the signed-in user: session and user are
# read in one statement (onestop.accounts.sessions, ADR 0026 amendment).
SESSION_ENGINE = "onestop.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = _flag("ONESTOP_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Request bodies (issue 8, defect 8; ADR 0016): an API request body (JSON) at most 512 KB,
# twice the largest case document (256 KB of UTF-8 may be written as \uXXXX escapes); the
# non-file part of a web form at most 1 MB (Django answers 400 beyond it). Uploaded files
# are bounded by MATERIAL_MAX_BYTES.
API_MAX_BODY_BYTES = 512 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
# FILE_UPLOAD_MAX_MEMORY_SIZE and FILE_UPLOAD_TEMP_DIR: see "Uploads" below.

# Uploaded materials: what we accept (checked by content, not by name).
MATERIAL_MAX_BYTES = int(os.environ.get("ONESTOP_MATERIAL_MAX_BYTES", 10 * 1024 * 1024))

# --- Uploads: whole-file checks, malware scan, files on disk (issue 8, ADR 0014) -------
# Images are decoded and re-encoded only up to this many pixels (40 megapixels: a 48 MP
# phone photo must be reduced; an A4 scan at 600 dpi is 35 MP). Decoding needs up to
# 4 bytes per pixel, so this also bounds the memory of one upload (160 MB).
UPLOAD_IMAGE_MAX_PIXELS = int(os.environ.get("ONESTOP_UPLOAD_IMAGE_MAX_PIXELS", 40_000_000))
UPLOAD_PDF_MAX_PAGES = int(os.environ.get("ONESTOP_UPLOAD_PDF_MAX_PAGES", 100))
# "off" (default) or "clamav": every upload is streamed to clamd (INSTREAM) before it is
# checked further. With "clamav", a clamd that cannot be reached REFUSES the upload (fail
# closed: code upload_scan_unavailable), it never stores an unscanned file.
MALWARE_SCAN = os.environ.get("ONESTOP_MALWARE_SCAN", "off").strip().lower()
if MALWARE_SCAN not in ("off", "clamav"):
    raise ImproperlyConfigured("ONESTOP_MALWARE_SCAN must be 'off' or 'clamav'")
# clamd's address: a unix socket path or host:port (its StreamMaxLength must be at least
# ONESTOP_MATERIAL_MAX_BYTES, else clamd answers ERROR and the upload is refused).
CLAMD_SOCKET = os.environ.get("ONESTOP_CLAMD_SOCKET", "/run/clamav/clamd.ctl")
CLAMD_TIMEOUT = float(os.environ.get("ONESTOP_CLAMD_TIMEOUT", "30"))
# Stored files (encrypted materials) are readable by the service account only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# While a request is read, its uploads stay in memory up to this size (a page of several
# 10 MB scans), so the plaintext never touches the disk; a larger request is spooled to a
# private folder (0700, files 0600, deleted at the end of the request).
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("ONESTOP_UPLOAD_MEMORY_BYTES", 32 * 1024 * 1024))
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(mode=0o700, parents=True, exist_ok=True)
Path(FILE_UPLOAD_TEMP_DIR).chmod(0o700)
# --- end of uploads ----------------------------------------------------------------------

# SMS: "outbox" writes each message to the outbox table and to DATA_DIR/sms.log (the
# embedded default); a real gateway plugs in here.
SMS_BACKEND = os.environ.get("ONESTOP_SMS_BACKEND", "onestop.notifications.sms.FileSmsBackend")
SMS_LOG = DATA_DIR / "sms.log"

# Outbox recovery (SMS and webhooks): a webhook send is leased this long, and the worker's
# sweeps (every half of it, at most every minute) take back a message still unsent this long
# after it was due — e.g. when its worker was killed mid-send. Must exceed the webhook HTTP
# timeout (10 s); the fault-injection test shortens it.
OUTBOX_RECOVERY_SECONDS = max(20, int(os.environ.get("ONESTOP_OUTBOX_RECOVERY_SECONDS", 120)))
# The worker (ADR 0023): how many due outbox rows one batch claims (one UPDATE … RETURNING),
# sends and records together; a full batch is followed by the next at once, no sleep.
WORKER_BATCH = max(1, int(os.environ.get("ONESTOP_WORKER_BATCH", 100)))
# An idle worker on PostgreSQL waits this long on LISTEN (woken at once by a commit that
# wrote outbox rows, ADR 0024) before a round of its own (retries, periodic jobs).
WORKER_IDLE_SECONDS = max(0.5, float(os.environ.get("ONESTOP_WORKER_IDLE_SECONDS", 5)))
# A worker's rounds are at most one per second (``worker --interval``) while the outboxes
# fill at this many rows a second or more: rows gather into one batch per receiver. Below
# it, the next round may come after ONESTOP_WORKER_QUICK_SECONDS: a quiet outbox's rows
# (the last messages of a burst, a single case) are sent at once (issue 10, session 27).
WORKER_BUSY_ROWS_PER_SECOND = max(
    0.0, float(os.environ.get("ONESTOP_WORKER_BUSY_ROWS_PER_SECOND", 20))
)
WORKER_QUICK_SECONDS = max(0.05, float(os.environ.get("ONESTOP_WORKER_QUICK_SECONDS", 0.1)))
# …and at least this share of the recent peak rate (a cycle's rows over the time since the
# cycle before; the peak halves every 30 s): the last levels of a burst, when the rate falls,
# are not held a second per level (onestop.ops.pace, session 28).
WORKER_BUSY_SHARE = min(1.0, max(0.0, float(os.environ.get("ONESTOP_WORKER_BUSY_SHARE", 0.5))))
# Retention (the `background_prune` job, docs/operations.md): SMS sent and webhooks
# delivered more than this many days ago are deleted (dead and pending rows are kept;
# in-app messages are the parents' inbox and are kept) …
OUTBOX_SENT_RETENTION_DAYS = max(1, int(os.environ.get("ONESTOP_OUTBOX_SENT_RETENTION_DAYS", 30)))
# Working days a department has to answer a bad rating (差评整改, ADR 0038).
RATING_FOLLOW_UP_WORKING_DAYS = max(
    1, int(os.environ.get("ONESTOP_RATING_FOLLOW_UP_WORKING_DAYS", 5))
)
# A replied follow-up the parent neither confirms nor re-complains about within this many
# working days is closed by the job ``follow_ups_silence`` as 逾期未确认，视为认可.
RATING_CONFIRM_WORKING_DAYS = max(1, int(os.environ.get("ONESTOP_RATING_CONFIRM_WORKING_DAYS", 5)))
# … and finished django-tasks rows (successful or failed) after this many hours.
TASKS_FINISHED_RETENTION_HOURS = max(
    1, int(os.environ.get("ONESTOP_TASKS_FINISHED_RETENTION_HOURS", 24))
)

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

# --- Sign-in and trust (issue 8, ADR 0013) --------------------------------------------------
# Parents' SMS codes: limits counted in the database (they hold across processes).
OTP_MAX_FAILURES_PER_PHONE = int(os.environ.get("ONESTOP_SMS_MAX_FAILURES_PER_PHONE", "10"))
OTP_CODES_PER_IP_PER_HOUR = int(os.environ.get("ONESTOP_SMS_CODES_PER_IP_PER_HOUR", "10"))
OTP_CODES_PER_MINUTE = int(os.environ.get("ONESTOP_SMS_CODES_PER_MINUTE", "60"))
# Reverse proxies in front of the product that append to X-Forwarded-For (0: use
# REMOTE_ADDR only; never trust X-Forwarded-For that no proxy of ours wrote).
TRUSTED_PROXIES = int(os.environ.get("ONESTOP_TRUSTED_PROXIES", "0"))

# Staff sign-in (等保三级): password guessing locked per account and per client address by
# django-axes (database handler), TOTP second factor by django-otp, idle timeout, policy.
INSTALLED_APPS += [
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
]
_auth_index = MIDDLEWARE.index("onestop.accounts.sessions.AuthenticationMiddleware")
MIDDLEWARE.insert(_auth_index + 1, "django_otp.middleware.OTPMiddleware")
_messages_index = MIDDLEWARE.index("onestop.common.middleware.LazyMessageMiddleware")
MIDDLEWARE[_messages_index + 1 : _messages_index + 1] = [
    "onestop.accounts.middleware.IdleTimeoutMiddleware",
    "onestop.accounts.middleware.SecondFactorMiddleware",
]
# Last but the end of the browsers' block (a pass-through), as django-axes requires.
MIDDLEWARE.insert(
    MIDDLEWARE.index("onestop.common.middleware.BrowserOnlyEnd"), "axes.middleware.AxesMiddleware"
)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("ONESTOP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("ONESTOP_LOGIN_LOCKOUT_MINUTES", "15")))
# Each parameter counts on its own: 5 wrong passwords for one account lock that account
# (from anywhere); 5 wrong passwords from one address lock that address (for any account).
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Not reset by a successful sign-in: axes would then also delete the failures recorded for
# the address, so an attacker signing in to their own account between guesses could guess
# another account's password without end. Failures expire after the cool-off instead.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "onestop.accounts.lockout.lockout_response"
# axes' database handler with its per-sign-in reads compiled once (same counts, same rows).
AXES_HANDLER = "onestop.accounts.lockout.LockoutHandler"
# The 12345 operators' case lookup (issue 12, ADR 0039): this many wrong verifications in the
# window, by one operator or for one case number, suspend lookups for it until they age out.
HOTLINE_LOOKUP_FAILURE_LIMIT = int(os.environ.get("ONESTOP_HOTLINE_LOOKUP_FAILURES", "5"))
HOTLINE_LOOKUP_LOCKOUT_MINUTES = int(os.environ.get("ONESTOP_HOTLINE_LOOKUP_MINUTES", "30"))
# … and a granted lookup lets that operator record the caller's rating (channel 12345热线)
# in the same session for this many minutes (issue 12 gap 2).
HOTLINE_VERIFIED_MINUTES = int(os.environ.get("ONESTOP_HOTLINE_VERIFIED_MINUTES", "30"))
AXES_CLIENT_IP_CALLABLE = "onestop.common.client_ip.client_ip"
AXES_SENSITIVE_PARAMETERS = ["password", "token", "otp_token"]
AXES_VERBOSE = False
# Roles that must enrol and use TOTP (comma-separated role codes); others may enrol.
TOTP_REQUIRED_ROLES = [
    r.strip()
    for r in os.environ.get("ONESTOP_TOTP_REQUIRED_ROLES", "admin,supervisor").split(",")
    if r.strip()
]
OTP_TOTP_ISSUER = "出生一件事"
# Administrators never see another person's TOTP secret or its QR code in /admin/ (the
# device's config and qrcode pages answer 403): a lost phone means a new enrolment.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
STAFF_IDLE_SECONDS = 60 * int(os.environ.get("ONESTOP_STAFF_IDLE_MINUTES", "30"))
PARENT_IDLE_SECONDS = 60 * int(os.environ.get("ONESTOP_PARENT_IDLE_MINUTES", "120"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # type: ignore[index]
# --- end of "Sign-in and trust" ------------------------------------------------------------

# --- HTTP hardening (issue 8, ADR 0018) ------------------------------------------------
# Every absolute URL the product prints (QR codes on e-licences, links in SMS, notices and
# webhooks) starts with this base, never with the request's Host header.
PUBLIC_BASE_URL = os.environ.get("ONESTOP_PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (only then: a client could
# forge the header when it talks to gunicorn directly).
if _flag("ONESTOP_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _flag("ONESTOP_SSL_REDIRECT")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # load balancer probes over plain HTTP
# HSTS whenever cookies are marked secure (the site is served over HTTPS only).
SECURE_HSTS_SECONDS = int(
    os.environ.get("ONESTOP_HSTS_SECONDS", 31536000 if SESSION_COOKIE_SECURE else 0)
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("ONESTOP_HSTS_INCLUDE_SUBDOMAINS", SESSION_COOKIE_SECURE)
SECURE_HSTS_PRELOAD = _flag("ONESTOP_HSTS_PRELOAD", SESSION_COOKIE_SECURE)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# The client address for per-IP limits and lockouts: see TRUSTED_PROXIES above
# (onestop/common/client_ip.py).

# Content-Security-Policy (django-csp): no inline script or style anywhere; scripts live in
# onestop/static/onestop/*.js. The API docs (Swagger UI) get inline styles only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}


def _cache(url: str) -> dict[str, object]:
    """``ONESTOP_CACHE_URL``: ``redis://host:6379/0`` (needs the redis package),
    ``locmem://`` (one process only: tests), else the database table ``onestop_cache``."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    # Django's default keeps 300 entries and then culls a third of them on a write: the
    # dashboards' kept months and panels (per division, period and roll-up, ADR 0041)
    # outnumber that, and a culled month is summed again from its days' rows. (The rate
    # limits count in their own table here, `common.ratelimit`.)
    return {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "onestop_cache",
        "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("ONESTOP_CACHE_MAX_ENTRIES", "100000"))},
    }


# Shared by every gunicorn worker and the background worker (rate-limit counters).
CACHES = {"default": _cache(os.environ.get("ONESTOP_CACHE_URL", ""))}
RATELIMIT_USE_CACHE = "default"
# The database cache's increment is not atomic: under a burst a counter may undercount by
# the number of concurrent requests. Accepted for the embedded default; use Redis at scale.
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Rate limits ("count/period", period s, m, h or d; django-ratelimit syntax).
RATE_LIMITS = {
    "api": os.environ.get("ONESTOP_RATE_API", "600/m"),  # per API client (credential)
    "verify": os.environ.get("ONESTOP_RATE_VERIFY", "60/m"),  # /verify/ per client IP
    "lookup_draft": os.environ.get("ONESTOP_RATE_LOOKUP_DRAFT", "5/h"),  # delivery record
    "lookup_parent": os.environ.get("ONESTOP_RATE_LOOKUP_PARENT", "10/d"),  # per parent
}
# Seconds a client is told to wait (Retry-After) when the database is unreachable.
DB_RETRY_AFTER = int(os.environ.get("ONESTOP_DB_RETRY_AFTER", "30"))
# --- end HTTP hardening -------------------------------------------------------------------

# The parents' pages kept rendered in each process's memory, validated by a stamp of what
# they show (onestop.common.revalidate, ADR 0026 amendment): at most this many bodies, each
# for at most this many seconds; 0 entries turns the kept bodies off (the ETag and 304 stay).
# 10,000: every page of ~1,000 active parents (each process sees all of them: gunicorn's
# workers share one socket); a page is 1.4–9 KB (~4 KB on average), so ≤ ~40 MB a process.
ONESTOP_PAGE_CACHE_ENTRIES = int(os.environ.get("ONESTOP_PAGE_CACHE_ENTRIES", "10000"))
ONESTOP_PAGE_CACHE_SECONDS = int(os.environ.get("ONESTOP_PAGE_CACHE_SECONDS", "300"))
