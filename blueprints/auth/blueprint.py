"""The auth blueprint: sign up, log in and log out (open to visitors)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
