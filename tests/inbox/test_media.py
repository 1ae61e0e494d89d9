"""The media route: a tenant's stored files only, with safe headers."""
from __future__ import annotations

from models import Message
from services.media_store import save_media
from tests.factories import make_contact
from tests.inbox.conftest import add_message

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 100
PDF = b"%PDF-1.4 test"


def stored(in_tenant, tenant_id, data, mime_type, kind, filename=None, path=True) -> int:
    with in_tenant(tenant_id):
        media = {"media_id": "77", "mime_type": mime_type, "filename": filename}
        if path:
            media.update(path=save_media(data, mime_type), size=len(data))
        return add_message(make_contact(), "in", None, type=kind, media=media).id


def test_image_inline_and_document_as_download(client, owner, in_tenant):
    image = stored(in_tenant, owner.tenant_id, JPEG, "image/jpeg", "image")
    response = client.get(f"/inbox/media/{image}")
    assert response.status_code == 200 and response.data == JPEG
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    document = stored(in_tenant, owner.tenant_id, PDF, "application/pdf", "document", filename="Quote 7.pdf")
    response = client.get(f"/inbox/media/{document}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "Quote 7.pdf" in response.headers["Content-Disposition"]
    page = client.get(f"/inbox/{_contact_of(client, owner, in_tenant, document)}").get_data(as_text=True)
    assert f'href="/inbox/media/{document}"' in page and "Quote 7.pdf" in page


def _contact_of(client, owner, in_tenant, message_id):
    from extensions import db

    with in_tenant(owner.tenant_id):
        return db.session.get(Message, message_id).contact_id


def test_not_downloaded_yet_is_404(client, owner, in_tenant):
    pending = stored(in_tenant, owner.tenant_id, JPEG, "image/jpeg", "image", path=False)
    assert client.get(f"/inbox/media/{pending}").status_code == 404
    text_only = stored(in_tenant, owner.tenant_id, b"", "", "text", path=False)
    assert client.get(f"/inbox/media/{text_only}").status_code == 404


def test_html_is_never_served_inline(client, owner, in_tenant):
    page = stored(in_tenant, owner.tenant_id, b"<script>alert(1)</script>", "text/html", "document", filename="x.html")
    response = client.get(f"/inbox/media/{page}")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_another_tenants_file_is_404(app, client, owner, create_user, login, in_tenant):
    other = create_user()
    theirs = stored(in_tenant, other.tenant_id, JPEG, "image/jpeg", "image")
    assert client.get(f"/inbox/media/{theirs}").status_code == 404
    # Even a message of ours pointing into their folder is refused.
    with in_tenant(other.tenant_id):
        their_path = save_media(JPEG, "image/jpeg")
    with in_tenant(owner.tenant_id):
        forged = add_message(make_contact(), "in", None, type="image",
                             media={"path": their_path, "mime_type": "image/jpeg"}).id
    assert client.get(f"/inbox/media/{forged}").status_code == 404
    assert login(other, test_client=app.test_client()).get(f"/inbox/media/{theirs}").status_code == 200
