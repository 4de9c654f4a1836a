"""Settings shared by every environment; everything that varies comes from the environment."""

from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent
BASE_DIR = PACKAGE_DIR.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = Path(env.str("MADOGUCHI_DATA_DIR", default=str(BASE_DIR / "var")))

SECRET_KEY = env.str("SECRET_KEY", default="insecure-local-only-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # Before django_tasks_db: its `db_worker` command is core's (heartbeats, scheduler).
    "madoguchi.core",
    "django_tasks",
    "django_tasks_db",
    "madoguchi.accounts",
    "madoguchi.tenancy",
    "madoguchi.audit",
    "madoguchi.events",
    "madoguchi.customers",
    "madoguchi.conversations",
    "madoguchi.commerce",
    "madoguchi.connectors.mail",
    "madoguchi.connectors.line",
    "madoguchi.connectors.webform",
    "madoguchi.connectors.phone",
    "madoguchi.connectors.chat",
    "madoguchi.operations",
    "madoguchi.demo",
    "madoguchi.search",
    "madoguchi.administration",
    "madoguchi.privacy",
    "madoguchi.analytics",
    "madoguchi.reports",
    "madoguchi.billing",
    "madoguchi.csat",
    "madoguchi.knowledge",
]

MIDDLEWARE = [
    "madoguchi.core.client_address.ProxyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "madoguchi.core.security_headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "madoguchi.accounts.ip_allowlist.IpAllowlistMiddleware",
    "madoguchi.accounts.middleware.SignInStepMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "madoguchi.accounts.session_expiry.SessionExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "madoguchi.tenancy.middleware.ShopScopeMiddleware",
    "madoguchi.core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "madoguchi.config.urls"
ASGI_APPLICATION = "madoguchi.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "madoguchi.core.navigation.menu",
                "madoguchi.core.job_health.stale_job_alert",
                "madoguchi.core.security_headers.csp_nonce",
            ],
        },
    },
]

# SQLite is the embedded default: WAL, IMMEDIATE transactions and a long busy timeout let the
# web process, the worker thread and the mail receiver write without "database is locked".
SQLITE_PATH = DATA_DIR / "madoguchi.sqlite3"
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend with a write gate: web writes go before background work (ADR 0017).
    DATABASES["default"]["ENGINE"] = "madoguchi.core.sqlite_backend"
    # Tests run in memory, as with Django's engine name (pytest-django names a test database
    # after the file otherwise, which is no path); file-database tests set their own.
    DATABASES["default"].setdefault("TEST", {}).setdefault("NAME", ":memory:")
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;PRAGMA cache_size=-65536;PRAGMA mmap_size=268435456;"
            ),
        }
    )
elif env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
    # PostgreSQL: bind parameters on the server so that psycopg prepares the statements a
    # connection runs repeatedly; planning the inbox's joins cost more than executing them.
    # Turn off behind a pooler in transaction mode (PgBouncer < 1.21), which cannot keep them.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
# Connections persist across requests (SQLite keeps its page cache warm and skips the PRAGMAs;
# PostgreSQL keeps its prepared statements), checked before reuse.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "conversations:inbox"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 2 * 60 * 60  # a reset link works for two hours (the mail says so)
OTP_TOTP_ISSUER = "Madoguchi"  # the name authenticator apps show beside the code

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# Static files (ADR 0020): WhiteNoise serves them from the apps' static folders through the
# finders, read once at start, so no collectstatic step, in development and production alike.
# Names carry no hash: WhiteNoise sends them with a short max-age (60 s without DEBUG) and an
# ETag, so a new release is seen within a minute. STATIC_ROOT only for a deployment that still
# wants `collectstatic` (a CDN origin); WhiteNoise then serves that folder too.
STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
WHITENOISE_USE_FINDERS = True
# Stored files: attachments (received and uploaded). On local disk under MEDIA_ROOT, or in an
# S3-compatible bucket with MEDIA_STORAGE=s3 (django-storages, ADR 0020). No URL serves them in
# either case: a download streams through the app's authorised, audited view.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="filesystem")
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if MEDIA_STORAGE == "s3":
    from madoguchi.core.storage import s3_storage_options

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3_storage_options(
            bucket_name=env.str("AWS_STORAGE_BUCKET_NAME"),
            endpoint_url=env.str("AWS_S3_ENDPOINT_URL", default=""),
            region_name=env.str("AWS_S3_REGION_NAME", default=""),
            access_key=env.str("AWS_ACCESS_KEY_ID", default=""),
            secret_key=env.str("AWS_SECRET_ACCESS_KEY", default=""),
            location=env.str("MEDIA_S3_PREFIX", default=""),
            addressing_style=env.str("AWS_S3_ADDRESSING_STYLE", default=""),
        ),
    }
elif MEDIA_STORAGE != "filesystem":
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'filesystem' or 's3', not {MEDIA_STORAGE!r}")
FILE_UPLOAD_PERMISSIONS = 0o640

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# A signed-in session ends 12 hours after sign-in whatever its use, and after 30 minutes without
# a request (sliding; ASVS 3.3.2 / NIST AAL2). Both from the environment (ADR 11).
SESSION_COOKIE_AGE = env.int("SESSION_MAX_SECONDS", default=12 * 60 * 60)
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# A strict Content-Security-Policy on every page (django-csp, ADR 11): scripts only with the
# request's nonce, styles and everything else from our own origin, no plugins, no framing.
# Pages that set their own policy (the public web form, downloads) keep it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [NONCE],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Background work: Django's tasks API through the django-tasks backport; the database backend
# is the embedded default, its worker runs as a thread of `madoguchi serve`.
TASKS = {
    "default": {
        "BACKEND": env.str("TASK_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}
# TASK_BACKEND=rq (or django_tasks_rq.RQBackend): RQ on Redis, run by `madoguchi worker` (ADR 0019).
if TASKS["default"]["BACKEND"] in ("rq", "django_tasks_rq.RQBackend"):
    from madoguchi.core.rq_settings import rq_queues

    RQ_QUEUES = rq_queues(
        env.str("TASK_REDIS_URL", default="") or env.str("REDIS_URL", default=""),
        env.list("TASK_QUEUES", default=["default"]),
    )
    TASKS["default"] = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": list(RQ_QUEUES)}
    INSTALLED_APPS.append("django_rq")

# The live chat's channel layer (ADR 0017): in-process by default, Redis when several processes
# share the sockets. REDIS_MAX_CONNECTIONS sizes each process's pool (a pool waits for a free
# connection, so a mass disconnect queues rather than fails).
CHANNEL_LAYERS: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "madoguchi.core.channel_layers.InProcessChannelLayer"}
}
if env.str("REDIS_URL", default=""):
    from madoguchi.core.channel_layers import redis_layer_config

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "madoguchi.core.channel_layers.RedisChannelLayer",
            "CONFIG": redis_layer_config(
                env.str("REDIS_URL"), max_connections=env.int("REDIS_MAX_CONNECTIONS", default=200)
            ),
        }
    }

# Rate-limit counters (web form, chat) live where every process and restart sees them: Redis
# when REDIS_URL is set, else a table of the database (`migrate` creates it, core.apps).
CACHES: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "madoguchi_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "madoguchi",
        }
    }

# Live chat abuse limits: frame size, messages per connection and window, presence freshness.
CHAT_MAX_FRAME_BYTES = env.int("CHAT_MAX_FRAME_BYTES", default=16 * 1024)
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=4000)
CHAT_RATE_MESSAGES = env.int("CHAT_RATE_MESSAGES", default=20)
CHAT_RATE_SECONDS = env.int("CHAT_RATE_SECONDS", default=10)
CHAT_PRESENCE_SECONDS = env.int("CHAT_PRESENCE_SECONDS", default=90)
CHAT_OPENS_PER_HOUR = env.int("CHAT_OPENS_PER_HOUR", default=30)
# Open visitor sockets at once: per conversation (tabs of one visitor) and per client address
# (visitors behind one NAT share it), counted in the database across processes (chat.sockets).
CHAT_SOCKETS_PER_CONVERSATION = env.int("CHAT_SOCKETS_PER_CONVERSATION", default=5)
CHAT_SOCKETS_PER_ADDRESS = env.int("CHAT_SOCKETS_PER_ADDRESS", default=100)
# Threads for the chat sockets' database work (connectors/chat/db.py); 0: asgiref's one shared
# thread (channels' database_sync_to_async), as before issue 19.
CHAT_DATABASE_THREADS = env.int("CHAT_DATABASE_THREADS", default=4)
# Threads for HTTP requests' sync work (middleware, views), each kept with its database connection
# between requests (core.asgi_handler, ADR 0027); a request waits when all are busy.
SERVE_REQUEST_THREADS = env.int("SERVE_REQUEST_THREADS", default=8)
# The web process's garbage collector thresholds (gen0, gen1, gen2), set by `serve` after start-up
# with the start-up heap frozen (core.garbage, ADR 0026); CPython's default is 700,10,10.
SERVE_GC_THRESHOLDS = tuple(
    int(value) for value in env.list("SERVE_GC_THRESHOLDS", default=["10000", "10", "10"])
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tracebacks name frames and exception types only, never messages (core.log_format, case 48).
    "formatters": {
        "plain": {
            "()": "madoguchi.core.log_format.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs every layout step of a PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Outgoing mail (replies, acknowledgements): Django's email settings, read from the environment.
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="support@madoguchi.localhost")

MADOGUCHI = {
    "INBOX_PAGE_SIZE": env.int("MADOGUCHI_INBOX_PAGE_SIZE", default=25),
    "ATTACHMENT_MAX_BYTES": env.int("MADOGUCHI_ATTACHMENT_MAX_BYTES", default=25 * 1024 * 1024),
    # The files kept per ticket and per shop (conversations.storage_quota; 0: no limit).
    "ATTACHMENT_TICKET_MAX_BYTES": env.int(
        "MADOGUCHI_ATTACHMENT_TICKET_MAX_BYTES", default=200 * 1024 * 1024
    ),
    "SHOP_STORAGE_MAX_BYTES": env.int(
        "MADOGUCHI_SHOP_STORAGE_MAX_BYTES", default=20 * 1024 * 1024 * 1024
    ),
    # Email channel: our Message-ID domain, size and time limits, the acknowledgement loop breaker.
    "MAIL_MESSAGE_ID_DOMAIN": env.str(
        "MADOGUCHI_MAIL_MESSAGE_ID_DOMAIN", default="madoguchi.localhost"
    ),
    "MAIL_MAX_BYTES": env.int("MADOGUCHI_MAIL_MAX_BYTES", default=25 * 1024 * 1024),
    # The raw mail one processing batch holds parsed at once (a larger mail is a batch alone):
    # a worker's memory is this, plus the parsing of one mail (about 8x its size at most).
    "MAIL_BATCH_BYTES": env.int("MADOGUCHI_MAIL_BATCH_BYTES", default=64 * 1024 * 1024),
    "MAIL_PROCESS_TIMEOUT": env.float("MADOGUCHI_MAIL_PROCESS_TIMEOUT", default=60.0),
    "MAIL_ACK_LIMIT_PER_HOUR": env.int("MADOGUCHI_MAIL_ACK_LIMIT_PER_HOUR", default=5),
    "MAIL_IMAP_POLL_SECONDS": env.int("MADOGUCHI_MAIL_IMAP_POLL_SECONDS", default=60),
    # Fernet keys for secrets at rest, the first encrypts (core.secrets); unset: from SECRET_KEY.
    "SECRET_KEYS": env.list("MADOGUCHI_SECRET_KEYS", default=[]),
    # The key of the digests customers' contacts are found by (core.secrets.keyed_digest, ADR
    # 0013); unset: derived from SECRET_KEY. Unlike SECRET_KEYS it is not rotated.
    "HASH_KEY": env.str("MADOGUCHI_HASH_KEY", default=""),
    # Every admin must sign in with a second factor, set up at their next sign-in (case 70).
    "TWO_FACTOR_FOR_ADMINS": True,
    # A new workspace requires two steps of its supervisors and operators too (case 70); its
    # admins may turn that off on the security page (audited).
    "NEW_WORKSPACES_REQUIRE_TWO_FACTOR": env.bool(
        "MADOGUCHI_NEW_WORKSPACES_REQUIRE_TWO_FACTOR", default=True
    ),
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client
    # (core.client_address); none by default: the connecting peer is the client.
    "TRUSTED_PROXIES": env.list("MADOGUCHI_TRUSTED_PROXIES", default=[]),
    # Workers beat every few seconds; one silent for WORKER_DEAD_SECONDS is dead and its claimed
    # work goes back to the queue at a scheduler's next tick (core.workers, ADR 0016).
    "WORKER_HEARTBEAT_SECONDS": env.float("MADOGUCHI_WORKER_HEARTBEAT_SECONDS", default=5.0),
    "WORKER_DEAD_SECONDS": env.float("MADOGUCHI_WORKER_DEAD_SECONDS", default=30.0),
    "SCHEDULER_TICK_SECONDS": env.float("MADOGUCHI_SCHEDULER_TICK_SECONDS", default=5.0),
    # ClamAV's daemon for scanning every received file (core.clamd): a unix socket path or
    # host:port; empty: files are kept as "not scanned" (deploy check W081 says so).
    "CLAMD": env.str("MADOGUCHI_CLAMD", default=""),
    # The site's public address, for links in mail and messages sent by background work (CSAT).
    "SITE_URL": env.str("MADOGUCHI_SITE_URL", default="http://127.0.0.1:8000"),
}
