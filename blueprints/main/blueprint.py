"""The main blueprint: the site's front door."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__)
