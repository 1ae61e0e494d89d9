"""Settings › API: the workspace's API keys (made, shown once, listed, revoked) and how to call the API."""
from __future__ import annotations

from flask import flash, url_for
from flask_login import current_user

from blueprints.common import get_or_404, put_errors
from blueprints.htmx import REFUSED, render, see_other
from blueprints.settings.api_keys_forms import ApiKeyForm
from blueprints.settings.blueprint import bp
from extensions import db
from models import ApiKey
from services.api_keys import create_key, list_keys, revoke_key
from services.errors import Invalid
from services.public_url import public_base_url


def _page(form: ApiKeyForm, *, status: int = 200, new_key: str | None = None):
    return render("settings/api.html", status=status, form=form, keys=list_keys(), new_key=new_key,
                  api_base=public_base_url().rstrip("/") + "/api/v1")


@bp.get("/api")
def api_keys():
    """The workspace's keys and a form for a new one."""
    return _page(ApiKeyForm())


@bp.post("/api")
def api_key_create():
    """Make a key and show it this once (only its digest is kept)."""
    form = ApiKeyForm()
    if not form.validate():
        return _page(form, status=REFUSED)
    scopes = [ApiKey.READ, ApiKey.WRITE] if form.access.data == ApiKey.WRITE else [ApiKey.READ]
    try:
        _key, secret = create_key(form.name.data, scopes, current_user.id)
    except Invalid as exc:
        put_errors(form, exc.errors)
        return _page(form, status=REFUSED)
    db.session.commit()
    return _page(ApiKeyForm(formdata=None), new_key=secret)


@bp.post("/api/<int:key_id>/revoke")
def api_key_revoke(key_id: int):
    """Stop a key working."""
    key = get_or_404(ApiKey, key_id)
    revoke_key(key)
    db.session.commit()
    flash(f"Revoked the key “{key.name}”. Requests made with it are refused from now on.", "success")
    return see_other(url_for("settings.api_keys"))
