"""Sign-up, authentication and platform admins."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Tenant, User
from models.base import utcnow
from models.tenancy import tenant_scope
from services.audit import actor_of, record
from services.deals.pipelines import create_default_pipeline
from services.passwords import hash_password, verify_password


class AccountError(ValueError):
    """Sign-up or login cannot proceed; the message is safe to show."""


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    """Look a user up by email (identity lookup; users are not tenant-scoped)."""
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def sign_up(email: str, password: str, tenant_name: str, *, is_admin: bool = False) -> User:
    """Create a tenant, its first user and its default deal pipeline; the caller commits."""
    email = normalize_email(email)
    # Hash before looking the email up: refusing a taken email then costs as long as creating an
    # account, so timing does not tell which emails have one.
    password_hash = hash_password(password)
    if find_user_by_email(email) is not None:
        raise AccountError("An account with this email already exists.")
    tenant = Tenant(name=tenant_name.strip())
    user = User(email=email, password_hash=password_hash, tenant=tenant, is_admin=is_admin)
    db.session.add_all([tenant, user])
    db.session.flush()
    with tenant_scope(tenant.id):
        create_default_pipeline()
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials or raise AccountError with a safe message."""
    user = find_user_by_email(email)
    # Verify against a dummy hash when the user is unknown so timing does not reveal accounts.
    if user is None:
        verify_password(_dummy_hash(), password)
        raise AccountError("Email or password is incorrect.")
    if not verify_password(user.password_hash, password):
        raise AccountError("Email or password is incorrect.")
    if not user.active:
        raise AccountError("This user is suspended. Contact your administrator.")
    if user.tenant.is_suspended:
        raise AccountError("This account is suspended. Contact support.")
    user.last_login_at = utcnow()
    record("auth.signed_in", target=user, tenant_id=user.tenant_id, actor=actor_of(user))
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of `user` (the caller commits).

    Computed in SQL so two concurrent bumps never collapse into one.
    """
    user.session_version = User.session_version + 1


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace the password after checking the current one; every session ends (the caller commits).

    The new password's strength is the form's rule (`password_problems`), as at sign-up.
    """
    if not verify_password(user.password_hash, current_password):
        raise AccountError("The current password is incorrect.")
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    if "hash" not in _DUMMY:
        _DUMMY["hash"] = hash_password("not-a-real-password-0")
    return _DUMMY["hash"]
