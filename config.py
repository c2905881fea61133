"""Configuration from environment variables (12-factor).

Defaults run the portal locally with SQLite in ``instance/``; production must
set ``SECRET_KEY`` and ``DATABASE_URL`` and refuses to start without a real key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from portal.crypto import DEVELOPMENT_KEY, EncryptionKeyError, parse_keys, parse_vapid_key

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production below  # nosec B105


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{BASE_DIR / 'instance' / 'holistiq.sqlite3'}"
    # Heroku-style URLs and bare postgresql:// mean psycopg 3 here.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI = _database_url()
    # pre_ping: recover from a database restart without restarting the app.
    # hide_parameters: SQL errors (logged, shown in tracebacks) never echo stored values (health data).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Request bodies larger than this get 413 (data imports are the biggest posts).
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 1024 * 1024)
    MAX_FORM_MEMORY_SIZE = _int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # Coach pictures and videos: a folder under instance/ (MEDIA_ROOT) unless an S3-compatible
    # bucket is named; credentials then come from the usual AWS_* variables.
    MEDIA_ROOT = os.environ.get("MEDIA_ROOT", "")
    MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "")
    MEDIA_S3_ENDPOINT_URL = os.environ.get("MEDIA_S3_ENDPOINT_URL", "")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PERMANENT_SESSION_LIFETIME = _int("SESSION_LIFETIME_MINUTES", 12 * 60) * 60
    # The cookie is written when its content changes, not re-signed on every page: the
    # server-side session row enforces the idle and absolute limits, and the cookie's own
    # expiry (set at sign-in) already matches the absolute limit.
    SESSION_REFRESH_EACH_REQUEST = False
    STAFF_IDLE_MINUTES = _int("STAFF_IDLE_MINUTES", 30)
    # Patients sign in on their own phones, mostly to follow a session and check in; two hours
    # covers a session with a break and still ends a session left open on a shared device.
    PATIENT_IDLE_MINUTES = _int("PATIENT_IDLE_MINUTES", 120)
    # A phone app's access token: short-lived, renewed with its refresh token (which follows the idle limits).
    API_ACCESS_MINUTES = _int("API_ACCESS_MINUTES", 15)
    # A patient's messages leave in the FHIR export only when the practice turns this on.
    FHIR_INCLUDE_MESSAGES = os.environ.get("FHIR_INCLUDE_MESSAGES", "").lower() in ("1", "true", "yes")
    # Where `flask fhir export` writes the practice's NDJSON files (default: instance/fhir-export).
    FHIR_EXPORT_DIR = os.environ.get("FHIR_EXPORT_DIR", "")
    # Encrypts authenticator secrets at rest; comma-separated for rotation (first one encrypts).
    # Outside production a fixed local key is used when unset; production refuses to start without one.
    DATA_ENCRYPTION_KEY = os.environ.get("DATA_ENCRYPTION_KEY", "") or DEVELOPMENT_KEY
    WTF_CSRF_TIME_LIMIT = None  # the session bounds the token's life

    # Login protection.
    LOGIN_MAX_FAILURES = _int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCK_MINUTES = _int("LOGIN_LOCK_MINUTES", 15)
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per minute")
    PASSWORD_RESET_MAX_AGE = _int("PASSWORD_RESET_HOURS", 2) * 3600
    INVITATION_MAX_AGE = _int("INVITATION_DAYS", 7) * 86400

    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # Keeps the counters of environments (or test runs) that share one Redis apart.
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "")
    RATELIMIT_HEADERS_ENABLED = True

    # Argon2id cost (argon2-cffi defaults are RFC 9106's low-memory profile).
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 65536)
    ARGON2_PARALLELISM = _int("ARGON2_PARALLELISM", 4)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Holistiq Coach <no-reply@holistiq.example>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT", 10)

    # The worker (`flask worker`, started by `make run`): how often each of its jobs runs, in seconds.
    OUTBOX_SECONDS = _int("OUTBOX_SECONDS", 10)
    # Text messages through a Twilio-compatible API (README: "Text reminders"); unset: texts stay queued.
    SMS_API_URL = os.environ.get("SMS_API_URL", "https://api.twilio.com")
    SMS_ACCOUNT_SID = os.environ.get("SMS_ACCOUNT_SID", "")
    SMS_AUTH_TOKEN = os.environ.get("SMS_AUTH_TOKEN", "")
    SMS_FROM = os.environ.get("SMS_FROM", "")
    SMS_TIMEOUT = _int("SMS_TIMEOUT", 10)
    # The public URL of /sms/inbound as the provider calls it (behind a proxy); unset: the request's URL.
    SMS_INBOUND_URL = os.environ.get("SMS_INBOUND_URL", "")
    # Web push (README: "Phone notifications"): the key that signs every push request and the contact push
    # services may use (mailto: or https:). Development generates a key into instance/; production needs both.
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:no-reply@holistiq.example")
    # Development and tests only: lets a subscription point at http:// or a local address (a push service on this
    # machine). Otherwise endpoints must be https:// on public addresses (a subscription is a URL we POST to).
    PUSH_ALLOW_LOCAL_ENDPOINTS = _bool("PUSH_ALLOW_LOCAL_ENDPOINTS", False)
    PUSH_TIMEOUT = _int("PUSH_TIMEOUT", 10)
    ESCALATION_CHECK_SECONDS = _int("ESCALATION_CHECK_SECONDS", 30)
    ALERTS_SCAN_SECONDS = _int("ALERTS_SCAN_SECONDS", 3600)
    REMINDERS_SECONDS = _int("REMINDERS_SECONDS", 300)
    # An unacknowledged red-flag alert is escalated to the clinic's on-call contacts and admins after this long:
    # Emergency tier, then Urgent (Today tier). Attention (Soon) alerts are not escalated.
    SAFETY_ESCALATION_MINUTES = _int("SAFETY_ESCALATION_MINUTES", 30)
    URGENT_ESCALATION_MINUTES = _int("URGENT_ESCALATION_MINUTES", 240)

    # Absolute base of every link in an email, a printout or a calendar file (never the request's host).
    # Locally it follows the port `make run` serves on.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{os.environ.get('PORT') or 5000}"
    TRUST_PROXY_HOPS = _int("TRUST_PROXY_HOPS", 0)
    FORCE_HTTPS = _bool("FORCE_HTTPS", False)

    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "holistiq-demo-2026")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")


class DevelopmentConfig(Config):
    DEBUG = False  # the debugger is opt-in with `flask --debug run`


class TestingConfig(Config):
    # Never the developer's real export folder; one per test process.
    FHIR_EXPORT_DIR = str(Path(tempfile.gettempdir()) / f"holistiq-fhir-test-{os.getpid()}")
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"  # noqa: S105 - tests only  # nosec B105
    # Tests never write into the working tree's instance/ folder.
    MEDIA_ROOT = os.environ.get("MEDIA_ROOT", "") or os.path.join(tempfile.gettempdir(), "holistiq-test-media")
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    # Cheap hashing keeps the suite fast; production uses the costs above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_RATE_LIMIT = "1000 per minute"
    MAIL_SERVER = ""
    # Texts go nowhere unless a test points these at its fake provider.
    SMS_API_URL = "http://127.0.0.1:9"
    SMS_ACCOUNT_SID = SMS_FROM = SMS_INBOUND_URL = ""
    SMS_AUTH_TOKEN = ""  # nosec B105 - no provider credentials in tests: texts are not configured
    # Each test app makes its own VAPID key; local push services only where a test starts one.
    VAPID_PRIVATE_KEY = ""
    PUSH_ALLOW_LOCAL_ENDPOINTS = False
    # The links tests expect, whatever port a developer's shell exports.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    FORCE_HTTPS = _bool("FORCE_HTTPS", True)
    # No development fallback here: validate() refuses to start without a real key.
    DATA_ENCRYPTION_KEY = os.environ.get("DATA_ENCRYPTION_KEY", "")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "")
    # Never in production, whatever the environment says: push endpoints are public https:// addresses only.
    PUSH_ALLOW_LOCAL_ENDPOINTS = False

    @classmethod
    def validate(cls) -> None:
        """Fail fast on settings that would be unsafe in production."""
        if cls.SECRET_KEY in ("", DEFAULT_SECRET_KEY) or len(cls.SECRET_KEY) < 32:
            raise RuntimeError("Production needs SECRET_KEY set to a random value of 32+ characters.")
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("Production needs DATABASE_URL (PostgreSQL).")
        try:
            parsed = parse_keys(cls.DATA_ENCRYPTION_KEY)
        except EncryptionKeyError as error:
            raise RuntimeError(
                "Production needs DATA_ENCRYPTION_KEY: one or more Fernet keys, comma-separated "
                "(make one with `flask keys new`)."
            ) from error
        if DEVELOPMENT_KEY in parsed:
            raise RuntimeError("Production refuses the development DATA_ENCRYPTION_KEY.")
        try:
            parse_vapid_key(cls.VAPID_PRIVATE_KEY)
        except ValueError as error:
            raise RuntimeError(
                "Production needs VAPID_PRIVATE_KEY: a P-256 private key, base64url (make one with `flask keys vapid`)."
            ) from error
        if not cls.VAPID_SUBJECT.startswith(("mailto:", "https://")):
            raise RuntimeError("Production needs VAPID_SUBJECT: a mailto: or https:// contact for push services.")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class named by ``name`` or by ``PORTAL_ENV`` (default development)."""
    key = (name or os.environ.get("PORTAL_ENV", "development")).lower()
    if key not in CONFIGS:
        raise RuntimeError(f"Unknown PORTAL_ENV {key!r}; use one of {', '.join(CONFIGS)}.")
    return CONFIGS[key]
