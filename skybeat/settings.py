"""SKYBEAT settings, read from environment variables with safe defaults.

Defaults need no server at all: SQLite and kombu's filesystem broker under ``var/``.
Production sets DATABASE_URL, CELERY_BROKER_URL, MEDIA_ROOT, SECRET_KEY and ALLOWED_HOSTS; DEBUG is off unless
DEBUG=1 (`make run` sets it for local use).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SKYBEAT_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def cache_from_env() -> dict:
    """CACHE_URL (redis://host:6379/1): a cache every web server shares. Without it, files under var/ (one host).
    CACHE_KEY_PREFIX keeps apart the sites that share one."""
    url, prefix = os.environ.get("CACHE_URL", ""), os.environ.get("CACHE_KEY_PREFIX", "")
    if not url:
        return {"BACKEND": "skybeat.cache.FileBasedCache", "LOCATION": str(VAR_DIR / "cache"), "KEY_PREFIX": prefix}
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"CACHE_URL must be a Redis URL (redis://host:6379/1), not {url!r}")
    # A hung Redis must not hang the requests that count log-in failures: give up after a few seconds.
    return {"BACKEND": "skybeat.cache.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 3, "socket_timeout": 3}}


def load_secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once into var/ (never committed)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database_from_env() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'skybeat.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a valid database URL ({url!r}): {exc}. "
            "Examples: sqlite:////abs/path/db.sqlite3, postgres://user@host:5432/name"
        ) from exc
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"DATABASE_URL has an unsupported scheme: {url!r}")
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Web server and worker write concurrently: WAL + immediate transactions + a busy timeout.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file test database, so a real worker process can see what the tests write.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    return config


SECRET_KEY = load_secret_key()
DEBUG = env_bool("DEBUG", False)  # `make run` turns it on for local use
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",  # serves htmx (hx-boost page swaps) as a static file
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "skybeat",
    "catalog",
    "classifier",
    "moods",
    "subsonic",
    "similar",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a lockout into skybeat.throttle.lockout_response
]

ROOT_URLCONF = "skybeat.urls"
WSGI_APPLICATION = "skybeat.wsgi.application"
ASGI_APPLICATION = "skybeat.asgi.application"

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

DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "subsonic.validators.NotTheAppPasswordValidator"},
]
# AxesStandaloneBackend refuses a locked-out client before ModelBackend checks the password. SKYBEAT's ModelBackend
# is Django's, reading the session's member with a query compiled once (skybeat/backends.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "skybeat.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"

# Uploads: streamed to temporary files on disk, never held whole in memory.
SKYBEAT_MAX_UPLOAD_MB = int(os.environ.get("SKYBEAT_MAX_UPLOAD_MB", "100"))
# Shorter audio is refused: a click, not a song (the classifier repeats anything shorter than a frame to fill it).
SKYBEAT_MIN_DURATION_S = float(os.environ.get("SKYBEAT_MIN_DURATION_S", "0.1"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "catalog.uploads.SizeCappedUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_NUMBER_FILES = 200
FILE_UPLOAD_PERMISSIONS = 0o644

# Reverse proxies in front of the web servers that append the client's address to X-Forwarded-For (0: none).
SKYBEAT_TRUSTED_PROXIES = int(os.environ.get("SKYBEAT_TRUSTED_PROXIES", "0"))

# Security (effective when DEBUG=0): `manage.py check --deploy` is clean with production variables.
SESSION_COOKIE_HTTPONLY = True
# Sessions in the database with a copy in the cache: a page reads its session without a query (skybeat/cache.py).
SESSION_ENGINE = "skybeat.cache"
CSRF_COOKIE_HTTPONLY = False  # the upload page's JavaScript reads the token from the form instead
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Celery ---------------------------------------------------------------------------------
# Seconds the broker may take to connect or to answer one command before it counts as down: the Redis transport's
# socket timeouts (a hung broker, e.g. Redis under SIGSTOP, accepts connections and never answers) and the
# wall-clock watchdog on every publish (skybeat.queue). The /healthz probe waits SKYBEAT_BROKER_HEALTH_TIMEOUT.
SKYBEAT_BROKER_TIMEOUT = float(os.environ.get("SKYBEAT_BROKER_TIMEOUT", "3"))
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    (BROKER_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "processed").mkdir(parents=True, exist_ok=True)
    (BROKER_DIR / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or f"file://{VAR_DIR / 'results'}"
    (VAR_DIR / "results").mkdir(exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        "socket_timeout": SKYBEAT_BROKER_TIMEOUT,  # above the workers' 1 s BRPOP polls
        "socket_connect_timeout": SKYBEAT_BROKER_TIMEOUT,
    }
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "300"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "360"))
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = [Queue(name) for name in ("default", "classification", "training")]
CELERY_TASK_ROUTES = {
    "classifier.tasks.fail_stalled_training_jobs": {"queue": "default"},
    "classifier.tasks.resume_stalled_reclassify_jobs": {"queue": "default"},
    "classifier.tasks.*": {"queue": "classification"},
    "classifier.training_tasks.*": {"queue": "training"},
}
# The task that classifies one song (args: [song id]): the catalog publishes it by name for new and requeued songs,
# on its "classification" queue, without importing the app that provides it.
SKYBEAT_CLASSIFY_TASK = "classifier.tasks.classify_song"
CELERY_BEAT_SCHEDULE = {
    "enqueue-pending-songs": {
        "task": "catalog.tasks.enqueue_pending_songs",
        "schedule": timedelta(minutes=1),
    },
    "fail-stalled-training-jobs": {
        "task": "classifier.tasks.fail_stalled_training_jobs",
        "schedule": timedelta(minutes=5),
    },
    "resume-stalled-reclassify-jobs": {
        "task": "classifier.tasks.resume_stalled_reclassify_jobs",
        "schedule": timedelta(minutes=5),
    },
    "nightly-library-training": {
        "task": "classifier.training_tasks.queue_nightly_training",
        "schedule": crontab(hour=2, minute=30),
    },
    "refresh-similar-index": {
        "task": "similar.tasks.refresh_index",
        "schedule": timedelta(minutes=10),
    },
    "nightly-mood-recompute": {
        "task": "moods.tasks.recompute_all_profiles",
        "schedule": crontab(hour=3, minute=15),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Seconds the health check waits for the broker before calling it down.
SKYBEAT_BROKER_HEALTH_TIMEOUT = float(os.environ.get("SKYBEAT_BROKER_HEALTH_TIMEOUT", "2"))

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "skybeat.auth.TokenAuthentication",  # REST framework's, with a query compiled once
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "skybeat.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "catalog.throttling.AnonRateThrottle",  # one cache call per request with Redis
        "catalog.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": SKYBEAT_TRUSTED_PROXIES,  # the anonymous throttle's client address, as skybeat.throttle reads it
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("SKYBEAT_THROTTLE_ANON", "60/min"),
        "user": os.environ.get("SKYBEAT_THROTTLE_USER", "2000/min"),
        "listen": os.environ.get("SKYBEAT_THROTTLE_LISTENS", "30/min"),  # listens started, per user
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SKYBEAT API",
    "DESCRIPTION": "Self-hosted music library that listens to its songs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CACHES = {"default": cache_from_env()}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # axes: failures and lockouts (WARNING), not every successful log-in.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- SKYBEAT ----------------------------------------------------------------------------------
SKYBEAT_MODELS_DIR = Path(os.environ.get("SKYBEAT_MODELS_DIR", VAR_DIR / "models"))
# Frame embeddings of the frozen backbone, per song, so re-training in feature-extractor mode skips the CNN.
SKYBEAT_EMBEDDING_CACHE_DIR = Path(os.environ.get("SKYBEAT_EMBEDDING_CACHE_DIR", VAR_DIR / "embeddings"))
SKYBEAT_TRAINING_TIME_LIMIT_S = int(os.environ.get("SKYBEAT_TRAINING_TIME_LIMIT_S", str(6 * 3600)))
# A running training job silent for this long has lost its worker (classifier.sweeps.fail_stalled_training_jobs).
SKYBEAT_TRAINING_STALL_S = int(os.environ.get("SKYBEAT_TRAINING_STALL_S", "900"))
# A library reclassification without progress for this long lost its messages: the sweep sends its songs again, up
# to SKYBEAT_RECLASSIFY_ATTEMPTS times, then fails it (classifier.sweeps.resume_stalled_reclassify_jobs).
SKYBEAT_RECLASSIFY_STALL_S = int(os.environ.get("SKYBEAT_RECLASSIFY_STALL_S", "900"))
SKYBEAT_RECLASSIFY_ATTEMPTS = int(os.environ.get("SKYBEAT_RECLASSIFY_ATTEMPTS", "3"))
SKYBEAT_MOOD_HALF_LIFE_DAYS = float(os.environ.get("SKYBEAT_MOOD_HALF_LIFE_DAYS", "30"))
# Similar songs (similar/): exact search below this many embeddings, a faiss IVF index above (bench/similar.py).
SKYBEAT_SIMILAR_ANN_FROM = int(os.environ.get("SKYBEAT_SIMILAR_ANN_FROM", "50000"))
# IVF lists searched per query (at least; more for big indexes): recall@10 >= 0.95 at 1M songs.
SKYBEAT_SIMILAR_PROBES = int(os.environ.get("SKYBEAT_SIMILAR_PROBES", "32"))
# The index is rebuilt when more than this share of the embeddings were written or deleted since its build.
SKYBEAT_SIMILAR_STALE_SHARE = float(os.environ.get("SKYBEAT_SIMILAR_STALE_SHARE", "0.05"))
# The "for you" mix leaves out songs played in the last this many days.
SKYBEAT_MIX_SKIP_DAYS = float(os.environ.get("SKYBEAT_MIX_SKIP_DAYS", "3"))
# Mood radio: how much closeness to the mood weighs against sounding like the previous song (0: sound only).
SKYBEAT_RADIO_MOOD_WEIGHT = float(os.environ.get("SKYBEAT_RADIO_MOOD_WEIGHT", "0.5"))
# Labelled songs a genre needs before training uses it: few, because the shipped base set carries the known genres.
SKYBEAT_MIN_LABELS_PER_GENRE = int(os.environ.get("SKYBEAT_MIN_LABELS_PER_GENRE", "5"))
# New or changed labels since the last training job that make the nightly run train (and maybe activate) a model.
SKYBEAT_NIGHTLY_MIN_NEW_LABELS = int(os.environ.get("SKYBEAT_NIGHTLY_MIN_NEW_LABELS", "10"))
SKYBEAT_PENDING_SWEEP_AGE = timedelta(seconds=int(os.environ.get("SKYBEAT_PENDING_SWEEP_AGE_S", "60")))
# Seconds a cached song list (count, API page, rendered table) lives at most; 0 turns the caches off. Entries are
# dropped at once when what they show changes (catalog/read_cache.py): this is only the backstop.
SKYBEAT_READ_CACHE_S = int(os.environ.get("SKYBEAT_READ_CACHE_S", "300"))

# --- Log-in and sign-up limits (skybeat/throttle.py) -----------------------------------------------------------
SKYBEAT_LOGIN_FAILURE_LIMIT = int(os.environ.get("SKYBEAT_LOGIN_FAILURE_LIMIT", "5"))
SKYBEAT_LOGIN_LOCKOUT = timedelta(minutes=int(os.environ.get("SKYBEAT_LOGIN_LOCKOUT_MINUTES", "15")))
SKYBEAT_SIGNUPS_PER_HOUR = int(os.environ.get("SKYBEAT_SIGNUPS_PER_HOUR", "5"))
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"  # counters in the shared cache, no table
AXES_FAILURE_LIMIT = SKYBEAT_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = SKYBEAT_LOGIN_LOCKOUT
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]  # per account and client: nobody else can lock you out
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "skybeat.throttle.axes_username"
AXES_CLIENT_IP_CALLABLE = "skybeat.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "skybeat.throttle.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # the cache handler keeps no attempts to show
AXES_VERBOSE = False  # failures are still logged, without the start-up banner
AXES_SENSITIVE_PARAMETERS: list[str] = []  # log failures with their username and address (never the password)
# axes.W001 calls a file cache unsafe for its counters; skybeat.W001 says the same in SKYBEAT's words (--deploy).
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
