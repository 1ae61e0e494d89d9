"""Inbox routes (being built)."""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
bp.before_request(login_required(lambda: None))


@bp.get("/")
def index():
    """Conversation list."""
    return render_template("inbox/index.html")
