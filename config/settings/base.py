"""Environment-driven settings.

Every value that differs between a laptop, CI and production comes from the
environment (or a ``.env`` file).  With nothing set, the project runs on an
embedded SQLite file and Celery's filesystem broker, so ``make run`` needs no
server at all.
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("SYNAPSCALE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(str(BASE_DIR / ".env"))

# --- General -----------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default="django-insecure-development-key-set-DJANGO_SECRET_KEY-in-production",
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
SITE_NAME = "Synapscale"

# --- Databases ---------------------------------------------------------------
# No DATABASE_URL: an embedded SQLite file.  WAL and IMMEDIATE transactions let
# the web server, the worker and beat share it without "database is locked".
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'synapscale.sqlite3'}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Bounded connections: Django's psycopg pool, at most DB_POOL_MAX_SIZE connections
    # per process, each handed back at the end of a request or task (so CONN_MAX_AGE is
    # 0).  The web's ceiling is GUNICORN_WORKERS x DB_POOL_MAX_SIZE (config/gunicorn.py);
    # the default of one connection per request thread means no thread waits for one.
    # Persistent per-thread connections (CONN_MAX_AGE > 0) leaked under runserver, which
    # starts a thread per request.  DB_POOL_MAX_SIZE=0 turns the pool off (e.g. behind
    # PgBouncer): then CONN_MAX_AGE applies, default 0, a connection per request.
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=env.int("GUNICORN_THREADS", default=4))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DB_POOL_MAX_SIZE > 0 and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": min(env.int("DB_POOL_MIN_SIZE", default=1), DB_POOL_MAX_SIZE),
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),  # then a 500, not a hang
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)

# --- Applications ------------------------------------------------------------
DJANGO_APPS = [
    "core.apps.SynapscaleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "django_celery_results",
]
# Our own apps: the sync report and the contract tests hold every model here to
# the "reachable from admin and API" rule.
LOCAL_APPS = [
    "core",
    "accounts",
    "workspaces",
    "analytics",
    "reports",
    "workflows",
    "agents",
    "billing",
    "crm",
    "webhooks",
    "marketplace",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS
# The kernel (core/) imports no app above it: it reaches them only through these
# names (tests/core/test_kernel_direction.py holds it to that).
TENANCY_WORKSPACE_MODEL = "workspaces.Workspace"
TENANCY_POLICY = "workspaces.policy.MembershipPolicy"
ADMIN_LOGIN_FORM = "accounts.forms.AdminLoginForm"
ADMIN_TWO_FACTOR_SETUP_URL = "two-factor-setup"  # a URL name

MIDDLEWARE = [
    "core.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves no static files: WhiteNoise does (from the apps' folders under
    # DEBUG, from STATIC_ROOT after collectstatic otherwise).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # After authentication: staff signed in pass; everyone else gets 503 while it is on.
    "core.maintenance.MaintenanceModeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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

# --- Authentication ----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.LockoutAwareBackend"]
LOGIN_URL = "admin:login"
# Lockout: after LOGIN_MAX_FAILURES consecutive failures the account is locked for
# LOGIN_LOCKOUT_SECONDS, doubling with each further lockout up to the cap.  The cap
# bounds how long an attacker who knows an email can keep its owner out; per-IP
# throttles bound how fast anyone can try.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=300)
LOGIN_LOCKOUT_MAX_SECONDS = env.int("LOGIN_LOCKOUT_MAX_SECONDS", default=3600)
# Staff without a confirmed device are sent to enrolment instead of the admin.
REQUIRE_STAFF_2FA = env.bool("REQUIRE_STAFF_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = "Synapscale"
EMAIL_VERIFICATION_MAX_AGE = env.int("EMAIL_VERIFICATION_MAX_AGE", default=3 * 24 * 3600)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
# Where links in emails point (the client app); the API paths work as a fallback.
FRONTEND_URL = env.str("FRONTEND_URL", default="http://127.0.0.1:8000")
# Django's default first (new hashes, re-hash on sign-in); plain bcrypt after it so users
# imported from the predecessors (seed 004 stored `$2b$` hashes) keep their passwords.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Static files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"

# --- Uploaded files ---
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
FILE_UPLOAD_MAX_BYTES = env.int("FILE_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)

# --- Workspaces ---
INVITATION_EXPIRY_DAYS = env.int("INVITATION_EXPIRY_DAYS", default=7)
# Fernet keys for the secrets vault, newest first (comma-separated). Values are
# encrypted with the first and readable with any; `manage.py rotate_secrets`
# re-encrypts everything under the first.  Without it (development only) a key
# is derived from SECRET_KEY.
SECRETS_ENCRYPTION_KEYS = env.list("SECRETS_ENCRYPTION_KEYS", default=[])

# --- Cache -------------------------------------------------------------------
# Throttle counters live in the cache; use Redis (CACHE_URL) when several web
# processes must share them.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://synapscale")}

# --- Email -------------------------------------------------------------------
# Under DEBUG each email is written to EMAIL_FILE_PATH as an .eml file and the console
# gets one line (to, subject, file), not the whole MIME message with its attachments.
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND",
    default="core.mail.FolderEmailBackend" if DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_FILE_PATH = Path(env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail")))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Synapscale <noreply@localhost>")

# --- Security ----------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Number of reverse proxies in front of the app that append to X-Forwarded-For.
# 0 means REMOTE_ADDR is the client; never trust the header beyond this count.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- REST framework ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",
        "workspaces.authentication.ApiKeyAuthentication",
        # Holds sessions to the second-factor rule (accounts.services.two_factor);
        # needs django_otp's OTPMiddleware after AuthenticationMiddleware.
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.ModelPermissions"],
    "DEFAULT_RENDERER_CLASSES": [
        "core.api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.parsers.JSONParser",  # bounded depth and size: no RecursionError
        "core.api.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.filters.FilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "auth_ip": env.str("API_THROTTLE_AUTH_IP", default="30/min"),
        "auth_account": env.str("API_THROTTLE_AUTH_ACCOUNT", default="10/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Synapscale API",
    "DESCRIPTION": (
        "REST API of the Synapscale back office. Every error has the same body: "
        "see the `Error` schema."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status": name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        # How a marketplace purchase is paid, named apart from a lead score's method (crm).
        "PurchaseMethodEnum": "marketplace.models.ComponentPurchase.Method",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        # Product analytics' choices, named apart from billing's and the agents' fields.
        "MetricKindEnum": "analytics.models.Metric.Kind",
        "WidgetIntervalEnum": "analytics.models.DashboardWidget.Interval",
        "ExportFormatEnum": "analytics.models.Export.Format",
        "ExportStatusEnum": "analytics.models.Export.Status",
        "VariablesFormatEnum": "accounts.services.variables.FORMATS",
        "UserStatusEnum": "accounts.models.User.Status",
        "WorkspaceStatusEnum": "workspaces.models.Workspace.Status",
        "InvitationStatusEnum": "workspaces.models.Invitation.Status",
        "ProjectStatusEnum": "workspaces.models.Project.Status",
        "FileStatusEnum": "workspaces.models.File.Status",
        # Kept as it was before report deliveries also had a "channel".
        "ChannelEnum": "accounts.models.LoginAttempt.Channel",
        "ReportKindEnum": "reports.kinds.CHOICES",
        "ReportRunStatusEnum": "reports.models.ReportRun.Status",
        "ReportRunTriggerEnum": "reports.models.ReportRun.Trigger",
        "ReportDeliveryStatusEnum": "reports.models.ReportDelivery.Status",
        "ReportDeliveryChannelEnum": "reports.models.ReportDelivery.Channel",
        "TriggerKindEnum": "workflows.models.Trigger.Kind",
        # Workspace roles, kept apart from a chat message's role (agents).
        "RoleEnum": "workspaces.models.membership.RoleName",
        # Workflows and agents share one lifecycle (draft, active, paused, archived).
        "LifecycleStatusEnum": "workflows.models.Workflow.Status",
        # An invoice line's kind, named apart from the other billing "kind" fields.
        "InvoiceLineKindEnum": "billing.models.InvoiceLine.Kind",
    },
}

REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=12)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
    "AUTH_HEADER_PREFIX": "Token",
}
KNOX_TOKEN_MODEL = "accounts.ApiToken"
# knox's migrations create its own token table even when the model is swapped
# out; our ApiToken replaces it, so that table must never exist.
MIGRATION_MODULES = {"knox": None}

# --- Celery ------------------------------------------------------------------
# No CELERY_BROKER_URL: kombu's filesystem transport, a broker that is just a
# folder, so a machine with nothing installed still runs real async tasks.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # The embedded broker is just folders; they must exist before any process uses them.
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged message to another worker after visibility_timeout.
    # With acks_late a message stays unacknowledged while its task runs, and a retry's
    # countdown is spent holding it too, so the timeout must exceed both the hard time
    # limit (CELERY_TASK_TIME_LIMIT, 30 min) and the longest retry countdown
    # (REPORT_DELIVERY_BACKOFF_MAX, 1 h), or a running task is started a second time.
    # It is not how a dead worker's job comes back: the reapers below requeue it from
    # the database within two minutes, and the late redelivery then finds it done.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    }
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
REAPER_INTERVAL = env.int("REAPER_INTERVAL", default=60)  # seconds
CELERY_BEAT_SCHEDULE = {
    "prune-audit-entries": {
        "task": "core.tasks.prune_audit_entries",
        "schedule": 24 * 60 * 60,
    },
    "prune-login-attempts": {
        "task": "accounts.tasks.prune_login_attempts",
        "schedule": 24 * 60 * 60,
    },
    "prune-expired-tokens": {
        "task": "accounts.tasks.prune_expired_tokens",
        "schedule": 60 * 60,
    },
    # Every minute: a dead worker's import or report run is requeued at most
    # *_STALE_SECONDS + REAPER_INTERVAL after its last heartbeat (45 + 60 s < 2 min).
    "reap-import-jobs": {
        "task": "analytics.tasks.reap_import_jobs",
        "schedule": REAPER_INTERVAL,
    },
    "reap-reports": {
        "task": "reports.tasks.reap_reports",
        "schedule": REAPER_INTERVAL,
    },
    # Workflows: dead workers' spans, lost messages, due waits and retries, timeouts.
    "reap-workflows": {
        "task": "workflows.tasks.reap_workflows",
        "schedule": REAPER_INTERVAL,
    },
    "prune-workflow-executions": {
        "task": "workflows.tasks.prune_executions",
        "schedule": 24 * 60 * 60,
    },
    "rollup-workflow-metrics": {
        "task": "workflows.tasks.rollup_execution_metrics",
        "schedule": 24 * 60 * 60,
    },
    # Agents: yesterday's AgentUsageMetric rows and Agent.performance_metrics.
    "rollup-agent-usage": {
        "task": "agents.tasks.rollups.rollup_agent_usage",
        "schedule": 24 * 60 * 60,
    },
    # Agents: monthly cost quotas whose month-end forecast passes the limit (email once).
    "check-agent-budgets": {
        "task": "agents.tasks.budgets.check_budgets",
        "schedule": 24 * 60 * 60,
    },
    # Billing: trials ending, periods renewing (each invoiced once), cancellations due.
    "billing-process-due-subscriptions": {
        "task": "billing.tasks.periods.process_due_subscriptions",
        "schedule": 5 * 60,
    },
    # Billing: invoices of periods that ended (a no-op for those already invoiced).
    "billing-generate-invoices": {
        "task": "billing.tasks.invoices.generate_due_invoices",
        "schedule": 15 * 60,
    },
    # Billing: failed payments retried on their schedule; unpaid after the grace: cancelled.
    "billing-run-dunning": {
        "task": "billing.tasks.dunning.run_dunning",
        "schedule": 60 * 60,
    },
    "billing-expire-credits": {
        "task": "billing.tasks.credits.expire_credits",
        "schedule": 60 * 60,
    },
    # CRM: provider events still waiting (a lost task message) and calls whose final
    # webhook never came (asked of the provider).
    "crm-sweep-provider-events": {
        "task": "crm.provider_event.sweep",
        "schedule": 5 * 60,
    },
    "crm-reconcile-calls": {
        "task": "crm.calls.reconcile",
        "schedule": 10 * 60,
    },
    # CRM: running campaigns dial (one task per campaign and tick).
    "crm-dial-campaigns": {
        "task": "crm.campaigns.dial",
        "schedule": 60,
    },
    # CRM: follow-up reminders, the call-back rule for late transcripts, nightly scores
    # (decay) and the call rollups of the last two days.
    "crm-follow-up-reminders": {
        "task": "crm.follow_ups.remind",
        "schedule": 5 * 60,
    },
    "crm-follow-up-rules": {
        "task": "crm.follow_ups.sweep",
        "schedule": 15 * 60,
    },
    "crm-rollups-daily": {
        "task": "crm.rollups.daily",
        "schedule": 24 * 60 * 60,
    },
    "crm-user-kpis-daily": {
        "task": "crm.rollups.user_kpis",
        "schedule": 24 * 60 * 60,
    },
    # Analytics: month partitions of events created ahead, events past retention dropped.
    "analytics-ensure-event-partitions": {
        "task": "analytics.events.ensure_partitions",
        "schedule": 24 * 60 * 60,
    },
    "analytics-prune-events": {
        "task": "analytics.events.prune",
        "schedule": 24 * 60 * 60,
    },
    # Analytics: yesterday's and today's rollups (people per day, business figures, insights).
    "analytics-rollup-recent": {
        "task": "analytics.rollups.recent",
        "schedule": 24 * 60 * 60,
    },
    # Webhooks: retries that came due (sooner ones are queued with a countdown).
    "webhooks-deliver-due": {
        "task": "webhooks.deliver_due",
        "schedule": 30,
    },
    "webhooks-prune-log": {
        "task": "webhooks.prune_log",
        "schedule": 24 * 60 * 60,
    },
    "crm-rescore-leads": {
        "task": "crm.leads.rescore",
        "schedule": 24 * 60 * 60,
    },
}

# --- Audit trail -------------------------------------------------------------
# Entries older than this are pruned daily, except each object's "create" entry.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
LOGIN_ATTEMPT_RETENTION_DAYS = env.int("LOGIN_ATTEMPT_RETENTION_DAYS", default=180)

# --- Logging -----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # httpx logs every request's full URL at INFO: a workflow's HTTP node may carry a
    # secret in its query string. Its warnings (no URLs) still show.
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"},
                # The Stripe SDK logs every request at INFO.
                "stripe": {"level": "WARNING"}},
}

# --- Production hardening ----------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    # Secure by default (``check --deploy`` clean); a plain-HTTP deployment opts out.
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading commits the whole domain to HTTPS in browsers, irreversibly for
        # months: the operator's decision (DJANGO_SECURE_HSTS_PRELOAD), not a default.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = (
        ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
    )

# --- BI imports (analytics) ------------------------------------------------------------------
# Time zone of the source systems: timestamps with an offset become local dates here.
# A workspace may override it with settings["bi_source_time_zone"].
BI_SOURCE_TIME_ZONE = env.str("BI_SOURCE_TIME_ZONE", default="America/Sao_Paulo")
# A job whose worker stops is retried this many times in all, then marked failed.
BI_IMPORT_MAX_ATTEMPTS = env.int("BI_IMPORT_MAX_ATTEMPTS", default=3)
# A running job's worker writes heartbeat_at this often, from a thread of its own, so
# a long COPY or load transaction does not silence it.  With no heartbeat for
# BI_IMPORT_STALE_SECONDS (3 missed) and no live worker holding it, the reaper requeues it.
BI_IMPORT_HEARTBEAT_SECONDS = env.int("BI_IMPORT_HEARTBEAT_SECONDS", default=15)
BI_IMPORT_STALE_SECONDS = env.int("BI_IMPORT_STALE_SECONDS", default=45)
# A job still pending this long (its message was lost: broker down at upload) is sent again.
BI_IMPORT_REQUEUE_MINUTES = env.int("BI_IMPORT_REQUEUE_MINUTES", default=10)
BI_IMPORT_MAX_BYTES = env.int("BI_IMPORT_MAX_BYTES", default=2 * 1024 * 1024 * 1024)

# --- Reports ---------------------------------------------------------------------------------
# Each report definition's schedule is a django-celery-beat PeriodicTask (see reports.services).
REPORT_FROM_EMAIL = env.str("REPORT_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# A run whose builds keep dying is failed (and its owner told) after this many attempts.
REPORT_MAX_ATTEMPTS = env.int("REPORT_MAX_ATTEMPTS", default=3)
# A building run's worker touches its updated_at this often (a heartbeat thread).  A run
# "running" with no heartbeat for REPORT_STALE_SECONDS whose builder holds no lock
# (PostgreSQL knows at once, through an advisory lock; SQLite goes by the heartbeat
# alone) is queued again by the reaper, or taken over by a redelivered task.
REPORT_HEARTBEAT_SECONDS = env.int("REPORT_HEARTBEAT_SECONDS", default=15)
REPORT_STALE_SECONDS = env.int("REPORT_STALE_SECONDS", default=45)
# Runs and deliveries still pending after this long are queued again (reports.tasks.reap_reports).
REPORT_REQUEUE_MINUTES = env.int("REPORT_REQUEUE_MINUTES", default=10)
# Failed emails are retried with exponential backoff (seconds, doubling up to the max).
REPORT_DELIVERY_MAX_RETRIES = env.int("REPORT_DELIVERY_MAX_RETRIES", default=5)
REPORT_DELIVERY_BACKOFF = env.int("REPORT_DELIVERY_BACKOFF", default=60)
REPORT_DELIVERY_BACKOFF_MAX = env.int("REPORT_DELIVERY_BACKOFF_MAX", default=3600)

# --- Workflows engine ------------------------------------------------------------------------
# Execution and span data (input, output) larger than this go to file storage; the row keeps
# {"$ref": "file", "bytes": n}.
WORKFLOW_INLINE_DATA_BYTES = env.int("WORKFLOW_INLINE_DATA_BYTES", default=64 * 1024)
# Finished executions are pruned daily past this age, and beyond this many per workflow
# (newest kept); queued and running ones never are.
WORKFLOW_EXECUTION_RETENTION_DAYS = env.int("WORKFLOW_EXECUTION_RETENTION_DAYS", default=30)
WORKFLOW_EXECUTION_RETENTION_COUNT = env.int("WORKFLOW_EXECUTION_RETENTION_COUNT",
                                             default=1000)
# A running node's worker touches its span this often (a heartbeat thread).  A span silent for
# WORKFLOW_STALE_SECONDS whose worker holds no lock is queued again by the reaper (every
# REAPER_INTERVAL): the same attempt, re-claimed; finished spans are never run again.
WORKFLOW_HEARTBEAT_SECONDS = env.int("WORKFLOW_HEARTBEAT_SECONDS", default=15)
WORKFLOW_STALE_SECONDS = env.int("WORKFLOW_STALE_SECONDS", default=45)
# Retry backoffs and waits up to this long ride on a Celery ETA; longer ones are sent by the
# reaper when due.  Keep it well below the broker's visibility timeout (an ETA message held
# past it is delivered twice).
WORKFLOW_ETA_MAX_SECONDS = env.int("WORKFLOW_ETA_MAX_SECONDS", default=300)
# Sub-workflows call each other at most this deep.
WORKFLOW_MAX_DEPTH = env.int("WORKFLOW_MAX_DEPTH", default=5)

# --- Workflows nodes ---------------------------------------------------------------------------
# The HTTP request node goes through core.outbound: loopback, private, link-local (cloud
# metadata) and other internal addresses are refused after DNS resolution unless the host is
# listed here ("name", "name:port", ".domain" for a domain and its subdomains).
# Under DEBUG (`make run`) the default allows the platform's own web port on loopback, for the
# demo workflow that calls /health/ (WEB_PORT, as the Makefile exports it); never in production.
_WEB_PORT = env.int("WEB_PORT", default=8000)
WORKFLOW_HTTP_ALLOWED_HOSTS = env.list(
    "WORKFLOW_HTTP_ALLOWED_HOSTS",
    default=[f"127.0.0.1:{_WEB_PORT}", f"localhost:{_WEB_PORT}"] if DEBUG else [])
# Responses larger than this (decompressed) fail the node instead of filling memory and spans.
WORKFLOW_HTTP_MAX_RESPONSE_BYTES = env.int("WORKFLOW_HTTP_MAX_RESPONSE_BYTES",
                                           default=5 * 1024 * 1024)
# Seconds an HTTP request may take unless the node sets its own (never past the attempt's end).
WORKFLOW_HTTP_TIMEOUT = env.float("WORKFLOW_HTTP_TIMEOUT", default=30.0)

# --- Agents and LLMs ---------------------------------------------------------------------
# Provider base URLs pass the outbound guard (core.outbound): internal addresses (a local
# vLLM or Ollama) only when listed here ("name", "name:port", ".suffix").
LLM_ALLOWED_HOSTS = env.list("LLM_ALLOWED_HOSTS", default=[])
# Longest wait honoured from a provider's Retry-After before giving up on a retry (seconds).
LLM_RETRY_MAX_WAIT = env.float("LLM_RETRY_MAX_WAIT", default=30.0)
# A delegating supervisor's chain of sub-agents stops at this depth.
AGENT_DELEGATION_MAX_DEPTH = env.int("AGENT_DELEGATION_MAX_DEPTH", default=3)
# `make run` with LLM_FAKE=1: seed_demo points its provider at the local fake
# OpenAI-compatible server (agents.fake_llm), clearly labelled, for offline demos.
LLM_FAKE = env.bool("LLM_FAKE", default=False)
LLM_FAKE_PORT = env.int("LLM_FAKE_PORT", default=8765)

# --- Billing -------------------------------------------------------------------------------
# Stripe keys (the `stripe` payment provider); the `manual` provider needs none.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Dunning: days after the first failed payment to retry, then cancel after the grace period.
BILLING_DUNNING_RETRY_DAYS = env.list("BILLING_DUNNING_RETRY_DAYS", cast=int, default=[1, 3, 5])
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=14)
# Payment provider API URLs (PaymentProvider.api_base) pass the outbound guard; internal
# addresses (a local stand-in) only when listed here ("name", "name:port", ".suffix").
BILLING_PROVIDER_ALLOWED_HOSTS = env.list("BILLING_PROVIDER_ALLOWED_HOSTS", default=[])
# What one credit is worth, in minor units, when credits pay an invoice.
BILLING_CREDIT_VALUE_MINOR = env.int("BILLING_CREDIT_VALUE_MINOR", default=1)

# --- Live settings and flags -------------------------------------------------------------
# Staff change live settings (core.live_settings: maintenance mode, sign-up, upload limit,
# report sender, defaults) and feature flags (core.flags) in the admin; values are served
# from the cache above, so a shared cache (CACHE_URL=redis://...) makes every process see a
# change at its next request. With the per-process default (locmem) cache another process
# sees it after this many seconds at most.
LIVE_SETTINGS_CACHE_SECONDS = env.int("LIVE_SETTINGS_CACHE_SECONDS", default=60)

# --- Product analytics --------------------------------------------------------
ANALYTICS_CAPTURE_MAX_BATCH = env.int("ANALYTICS_CAPTURE_MAX_BATCH", default=1000)
ANALYTICS_EVENT_MAX_PROPERTIES_BYTES = env.int("ANALYTICS_EVENT_MAX_PROPERTIES_BYTES",
                                               default=16_384)
# On: PostgreSQL answers a capture before its commit is flushed (faster; a database
# crash can lose the last fraction of a second of acknowledged events).
ANALYTICS_CAPTURE_ASYNC_COMMIT = env.bool("ANALYTICS_CAPTURE_ASYNC_COMMIT", default=False)

# --- Outbound webhooks (webhooks/, docs/webhooks.md) -------------------------------------
# Endpoints must resolve to public addresses (core.outbound) unless listed here.
WEBHOOKS_ALLOWED_HOSTS = env.list("WEBHOOKS_ALLOWED_HOSTS", default=[])
WEBHOOKS_TIMEOUT = env.float("WEBHOOKS_TIMEOUT", default=15.0)
WEBHOOKS_MAX_RESPONSE_BYTES = env.int("WEBHOOKS_MAX_RESPONSE_BYTES", default=256 * 1024)
# Seconds before each attempt: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (± jitter).
WEBHOOKS_RETRY_SCHEDULE = env.list("WEBHOOKS_RETRY_SCHEDULE", cast=int,
                                   default=[0, 5, 300, 1800, 7200, 18000, 36000])
WEBHOOKS_RETRY_JITTER = env.float("WEBHOOKS_RETRY_JITTER", default=0.1)
WEBHOOKS_DISABLE_AFTER_SECONDS = env.int("WEBHOOKS_DISABLE_AFTER_SECONDS",
                                         default=5 * 24 * 3600)
WEBHOOKS_ROTATION_GRACE_SECONDS = env.int("WEBHOOKS_ROTATION_GRACE_SECONDS", default=24 * 3600)
WEBHOOKS_ETA_MAX_SECONDS = env.int("WEBHOOKS_ETA_MAX_SECONDS", default=300)
WEBHOOKS_LOG_BODY_CHARS = env.int("WEBHOOKS_LOG_BODY_CHARS", default=4096)
WEBHOOKS_DUE_BATCH = env.int("WEBHOOKS_DUE_BATCH", default=1000)
# Days the delivery log (messages, deliveries, attempts) is kept once nothing is open.
WEBHOOKS_LOG_RETENTION_DAYS = env.int("WEBHOOKS_LOG_RETENTION_DAYS", default=30)

# --- CRM and voice calls -------------------------------------------------------------------
# The voice platform (Bolna) places calls and reports them; its base URL passes the outbound
# guard (internal addresses only when listed in CRM_VOICE_ALLOWED_HOSTS).
CRM_VOICE_API_BASE = env.str("CRM_VOICE_API_BASE", default="https://api.bolna.ai")
CRM_VOICE_API_KEY = env.str("CRM_VOICE_API_KEY", default="")
CRM_VOICE_ALLOWED_HOSTS = env.list("CRM_VOICE_ALLOWED_HOSTS", default=[])
CRM_VOICE_API_TIMEOUT = env.float("CRM_VOICE_API_TIMEOUT", default=15.0)
CRM_VOICE_API_RETRIES = env.int("CRM_VOICE_API_RETRIES", default=2)
CRM_VOICE_RETRY_MAX_WAIT = env.float("CRM_VOICE_RETRY_MAX_WAIT", default=10.0)
# Inbound voice webhooks carry an HMAC-SHA256 of the body (X-Bolna-Signature: sha256=...)
# with this secret, added by the signing relay in front of the platform's webhook.
CRM_VOICE_WEBHOOK_SECRET = env.str("CRM_VOICE_WEBHOOK_SECRET", default="")
# The public URL Twilio posts to (its signatures cover the full URL), e.g.
# https://app.example.com
CRM_PUBLIC_BASE_URL = env.str("CRM_PUBLIC_BASE_URL", default="")
# Credits held before a call, and charged per started minute when it completes.
CRM_CREDITS_PER_CALL = env.int("CRM_CREDITS_PER_CALL", default=10)
CRM_CREDITS_PER_MINUTE = env.int("CRM_CREDITS_PER_MINUTE", default=10)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="")
# Lead scores: each rule's points halve every this many days (crm.scoring).
CRM_SCORE_HALF_LIFE_DAYS = env.float("CRM_SCORE_HALF_LIFE_DAYS", default=14)
