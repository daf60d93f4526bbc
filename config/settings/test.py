"""pytest settings: fast hashing, in-memory mail and broker, eager-free Celery."""

import os

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ALLOWED_HOSTS = ["*"]

# Tasks run in-process; tests that need a real broker say so.
# Staff 2FA is on outside DEBUG; tests of that rule turn it on themselves.
REQUIRE_STAFF_2FA = False

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}

# Throttling is tested explicitly; keep it out of the way elsewhere.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min",
                               "auth_ip": "100000/min", "auth_account": "100000/min"},
}

# django-otp delays the next code check after a wrong one (1s, then 2s, ...).
# Tests that check several codes in a row would have to sleep; the delay has its own test.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

# A fixed Fernet key for the vault in tests (never used anywhere else).
SECRETS_ENCRYPTION_KEYS = ["xQ3b1ttnS9cN1Jc0FfSgnyMQKjv1Gx5Xn9z0eXGQ2yA="]
MEDIA_ROOT = VAR_DIR / "test-media"

# Agents: the tests' local LLM servers listen on loopback; Retry-After waits stay short.
LLM_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LLM_RETRY_MAX_WAIT = 2.0
# Billing: the tests' Stripe stand-in listens on loopback.
BILLING_PROVIDER_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
WEBHOOKS_ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
# Inbound provider webhooks are configured as in production (unsigned bodies are refused
# as unauthenticated, never "not configured"); tests of those answers unset them.
STRIPE_WEBHOOK_SECRET = "whsec_test_only_0123456789abcdef"
CRM_VOICE_WEBHOOK_SECRET = "test-only-voice-webhook-secret"
TWILIO_AUTH_TOKEN = "0" * 32
CRM_PUBLIC_BASE_URL = "http://testserver"
# emit checks each payload against its event's schema (docs/events.md): drift fails tests.
EVENTS_VALIDATE_PAYLOADS = True
