"""Settings read from the environment, with embedded defaults for a one-machine install."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent
DEFAULT_INSTANCE = BASE_DIR / "instance"


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a safe configuration."""


def _read_or_create_secret(path: Path, factory) -> str:
    """Return the secret stored at `path`, creating it once (mode 0600) when absent."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = factory()
    # Create with restrictive permissions from the start: the file holds a key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def is_production(env: dict[str, str] | None = None) -> bool:
    """Production is declared explicitly so a forgotten variable never weakens it silently."""
    env = os.environ if env is None else env
    return env.get("MESSAGEHUB_ENV", env.get("FLASK_ENV", "development")).lower() == "production"


def default_public_base_url(env: dict[str, str] | None = None) -> str:
    """Where `make run` serves (HOST and PORT, as the Procfile's web process reads them), as a URL."""
    env = os.environ if env is None else env
    host = (env.get("HOST") or "127.0.0.1").strip()
    # A wildcard listen address is not one a browser or a gateway can connect to.
    if host in ("0.0.0.0", "::", "[::]", ""):
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    port = (env.get("PORT") or "5000").strip()
    return f"http://{host}:{port}"


def load_config(env: dict[str, str] | None = None, instance_path: Path | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    instance = Path(env.get("MESSAGEHUB_INSTANCE", instance_path or DEFAULT_INSTANCE))
    production = is_production(env)

    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY must be set in production")
        secret_key = _read_or_create_secret(instance / "secret_key", lambda: secrets.token_urlsafe(48))

    keys = env.get("MESSAGEHUB_ENCRYPTION_KEYS")
    if not keys:
        if production:
            raise ConfigError("MESSAGEHUB_ENCRYPTION_KEYS must be set in production")
        keys = _read_or_create_secret(instance / "encryption_keys", lambda: Fernet.generate_key().decode())

    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'messagehub.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    explicit_base_url = (env.get("PUBLIC_BASE_URL") or "").strip().rstrip("/")
    public_base_url = explicit_base_url or default_public_base_url(env)
    secure_cookies = public_base_url.startswith("https://")

    return {
        "MESSAGEHUB_INSTANCE": str(instance),
        "PRODUCTION": production,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": [k.strip() for k in keys.split(",") if k.strip()],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Unset: the embedded Redis that `make run` starts on a unix socket under instance/.
        "REDIS_URL": env.get("REDIS_URL") or f"unix://{instance / 'redis.sock'}",
        "REDIS_EMBEDDED": not env.get("REDIS_URL"),
        "PUBLIC_BASE_URL": public_base_url,
        # Set only while PUBLIC_BASE_URL was derived (development, not set): links built during a request
        # then use the address the browser used (services/public_url.py), which is right on any port.
        "PUBLIC_BASE_URL_DERIVED": None if explicit_base_url or production else public_base_url,
        # Tokens are tied to the session, not to a clock: long-open pages keep working.
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * 30,
        # Login throttling counts failed logins only, so a right password is never refused for someone
        # else's mistakes: tightly per email + client address, loosely per email (guessing spread over
        # many addresses); every attempt counts per client address.
        "LOGIN_LIMIT_PER_CLIENT": env.get("LOGIN_LIMIT_PER_CLIENT", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_EMAIL": env.get("LOGIN_LIMIT_PER_EMAIL", "50 per hour"),
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "30 per minute"),
        # Each sign-up costs a full Argon2 hash.
        "SIGNUP_LIMIT_PER_IP": env.get("SIGNUP_LIMIT_PER_IP", "5 per minute;20 per hour"),
        # /api/v1 requests per key and per workspace (all its keys together).
        "API_LIMIT_PER_KEY": env.get("API_LIMIT_PER_KEY", "600 per minute"),
        "API_LIMIT_PER_WORKSPACE": env.get("API_LIMIT_PER_WORKSPACE", "1200 per minute"),
        "CONTACTS_PER_PAGE": int(env.get("CONTACTS_PER_PAGE", "25")),
        # Per-workspace quotas unless an admin sets others; inactive linked devices are unlinked after this many days.
        "QUOTA_CONTACTS": int(env.get("QUOTA_CONTACTS", "50000")),
        "QUOTA_MESSAGES_PER_DAY": int(env.get("QUOTA_MESSAGES_PER_DAY", "10000")),
        "INACTIVE_LINK_DAYS": int(env.get("INACTIVE_LINK_DAYS", "30")),
        # Argon2id cost; tests lower it through create_app(config=...).
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", "3")),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", "65536")),
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "WEBHOOK_MAX_BYTES": 1024 * 1024,
        # WhatsApp: base URLs are configuration so tests, staging and proxies can point elsewhere.
        "WHATSAPP_GRAPH_URL": env.get("WHATSAPP_GRAPH_URL", "https://graph.facebook.com").rstrip("/"),
        "WHATSAPP_GRAPH_VERSION": env.get("WHATSAPP_GRAPH_VERSION", "v23.0"),
        "WHATSAPP_GATEWAY_URL": (env.get("WHATSAPP_GATEWAY_URL") or "").rstrip("/") or None,
        "WHATSAPP_GATEWAY_KEY": env.get("WHATSAPP_GATEWAY_KEY") or None,
        # Outbound webhooks go to public HTTPS addresses only; set this to let them reach private and loopback
        # addresses over plain http too (receivers on the same network, development, tests).
        "OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": (env.get("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE") or "").strip().lower()
        in ("1", "true", "yes", "on"),
        # Seconds after a sandbox send at which sent / delivered / read receipts arrive.
        "SANDBOX_RECEIPT_DELAYS": tuple(
            float(x) for x in env.get("SANDBOX_RECEIPT_DELAYS", "0.5,1.5,4").split(",")
        ),
    }
