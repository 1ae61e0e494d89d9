"""The navigation badge's poll: every page asks it cheaply whether the link state changed."""
from __future__ import annotations

from flask import Response, render_template, request

from blueprints.badge import badge_version
from blueprints.settings.blueprint import bp
from services.channels import get_channel


@bp.get("/whatsapp/badge")
def whatsapp_badge():
    """The badge, or 204 while it would read the same (it touches neither the session nor the flashes)."""
    if request.args.get("v") == badge_version(get_channel()):
        return Response(status=204)
    # The badge template reads the channel itself through connection_badge(), like every page does.
    return render_template("_connection_badge.html")
