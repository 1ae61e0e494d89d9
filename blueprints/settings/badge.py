"""The navigation badge's poll: every page asks it cheaply whether the link state changed."""
from __future__ import annotations

from flask import render_template

from blueprints.badge import badge_version
from blueprints.htmx import unchanged_poll
from blueprints.settings.blueprint import bp
from services.channels import get_channel


@bp.get("/whatsapp/badge")
def whatsapp_badge():
    """The badge, or 204 while it would read the same (it touches neither the session nor the flashes)."""
    if (unchanged := unchanged_poll(badge_version(get_channel()))) is not None:
        return unchanged
    # The badge template reads the channel itself through connection_badge(), like every page does.
    return render_template("_connection_badge.html")
