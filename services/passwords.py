"""Argon2id password hashing and the minimum-strength rule."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 10
# A few passwords people pick first; long enough to pass the length rule, so named explicitly.
COMMON = {"password123", "password1234", "qwertyuiop", "1234567890", "letmein1234", "iloveyou123",
          "welcome1234", "admin12345", "passw0rd123", "abc1234567"}


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"])


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password`."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; never raises on a bad hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, email: str = "") -> list[str]:
    """Reasons a password is too weak (empty list when acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if password.isalpha() or password.isdigit():
        problems.append("Mix letters with digits or symbols.")
    lowered = password.lower()
    if lowered in COMMON or (email and lowered == email.lower()) or len(set(password)) < 4:
        problems.append("This password is too easy to guess.")
    return problems
