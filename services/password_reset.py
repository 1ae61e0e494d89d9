"""One-time password reset links: signed, expiring, and dead once used (they name the hash they replace)."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from extensions import db
from models import User
from services.accounts import end_all_sessions
from services.audit import actor_of, record
from services.passwords import hash_password

VALID_FOR = timedelta(hours=24)
_SALT = "messagehub.password-reset"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    # A digest of the current hash: setting any new password (this link's or another) ends the link.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:20]


def reset_token(user: User) -> str:
    """A token for the reset page, valid for VALID_FOR or until the password changes, whichever is first."""
    return _serializer().dumps({"u": user.id, "h": _fingerprint(user)})


def user_for_token(token: str) -> User | None:
    """The user a live token resets, or None (expired, tampered with, or already used)."""
    try:
        data = _serializer().loads(token, max_age=int(VALID_FOR.total_seconds()))
    except BadSignature:
        return None
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or data.get("h") != _fingerprint(user):
        return None
    return user


def reset_password(user: User, new_password: str) -> None:
    """Set the new password; every session of the user ends and the link stops working (the caller commits)."""
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    record("auth.password_reset", target=user, tenant_id=user.tenant_id, actor=actor_of(user))
