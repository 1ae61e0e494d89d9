"""CloudProvider against the fake Graph API over real loopback HTTP."""
from __future__ import annotations

import httpx
import pytest

import whatsapp.http as shared_http
from tests.fakes import FakeGraphAPI
from whatsapp.base import ChannelError, ConnectionState, ErrorAction, MaybeSent, RecipientError, RetryableError
from whatsapp.cloud import CloudProvider

from .conftest import PHONE_ID, TOKEN, WABA_ID

CUSTOMER = "15551234567"


def _messages_path(graph: FakeGraphAPI) -> str:
    return f"/{graph.api_version}/{PHONE_ID}/messages"


# -- sending --------------------------------------------------------------------


def test_send_text_posts_graph_shape_with_bearer_token(cloud, graph):
    result = cloud.send_text("+1 (555) 123-4567", "Your appointment is at 3pm", preview_url=True)

    request = graph.last("POST", "/messages")
    assert request.path == _messages_path(graph)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.json == {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": CUSTOMER, "type": "text",
                            "text": {"preview_url": True, "body": "Your appointment is at 3pm"}}
    assert result.provider_message_id.startswith("wamid.")
    assert graph.sent[-1]["id"] == result.provider_message_id


def test_send_template_with_components(cloud, graph):
    graph.add_template(WABA_ID, "appointment_reminder", "en_US", category="UTILITY")
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]

    result = cloud.send_template(CUSTOMER, "appointment_reminder", "en_US", components)

    body = graph.last("POST", "/messages").json
    assert body["type"] == "template"
    assert body["template"] == {"name": "appointment_reminder", "language": {"code": "en_US"},
                                "components": components}
    assert result.provider_message_id == graph.sent[-1]["id"]


def test_send_template_without_components_omits_them(cloud, graph):
    graph.add_template(WABA_ID, "hello_world", "en_US")
    cloud.send_template(CUSTOMER, "hello_world", "en_US")
    assert "components" not in graph.last("POST", "/messages").json["template"]


def test_unknown_template_fails_only_the_message(cloud, graph):
    with pytest.raises(RecipientError) as info:
        cloud.send_template(CUSTOMER, "no_such_template", "pt_BR")
    assert info.value.code == 132001
    assert info.value.action is ErrorAction.FAIL_MESSAGE
    assert "template" in info.value.message.lower()


@pytest.mark.parametrize("media_type, kwargs, expected", [
    ("image", {"link": "https://cdn.example.com/x.jpg", "caption": "Front desk"},
     {"link": "https://cdn.example.com/x.jpg", "caption": "Front desk"}),
    ("document", {"media_id": "1234", "caption": "Invoice", "filename": "invoice.pdf"},
     {"id": "1234", "caption": "Invoice", "filename": "invoice.pdf"}),
    # Graph rejects captions on audio/stickers and filenames on non-documents; the adapter drops them.
    ("audio", {"link": "https://cdn.example.com/a.ogg", "caption": "ignored", "filename": "a.ogg"},
     {"link": "https://cdn.example.com/a.ogg"}),
    ("sticker", {"media_id": "987"}, {"id": "987"}),
    ("video", {"link": "https://cdn.example.com/v.mp4", "caption": "Tour"},
     {"link": "https://cdn.example.com/v.mp4", "caption": "Tour"}),
])
def test_send_media_shapes(cloud, graph, media_type, kwargs, expected):
    result = cloud.send_media(CUSTOMER, media_type, **kwargs)
    body = graph.last("POST", "/messages").json
    assert body["type"] == media_type
    assert body[media_type] == expected
    assert result.provider_message_id.startswith("wamid.")


@pytest.mark.parametrize("kwargs", [{}, {"link": "https://x/y.png", "media_id": "1"}])
def test_send_media_needs_exactly_one_source(cloud, graph, kwargs):
    with pytest.raises(ValueError):
        cloud.send_media(CUSTOMER, "image", **kwargs)
    with pytest.raises(ValueError):
        cloud.send_media(CUSTOMER, "hologram", link="https://x/y")
    assert graph.requests == []


# -- error mapping --------------------------------------------------------------


@pytest.mark.parametrize("status, code, error_class, action", [
    (429, None, RetryableError, ErrorAction.RETRY),
    (400, 130429, RetryableError, ErrorAction.RETRY),
    (400, 131056, RetryableError, ErrorAction.RETRY),
    (400, 80007, RetryableError, ErrorAction.RETRY),
    (500, None, RetryableError, ErrorAction.RETRY),
    (503, 131016, RetryableError, ErrorAction.RETRY),
    (400, 131026, RecipientError, ErrorAction.FAIL_MESSAGE),
    (400, 131047, RecipientError, ErrorAction.FAIL_MESSAGE),
    (400, 131050, RecipientError, ErrorAction.FAIL_MESSAGE),
    (400, 132001, RecipientError, ErrorAction.FAIL_MESSAGE),
    (400, 132999, RecipientError, ErrorAction.FAIL_MESSAGE),
    (400, 100, RecipientError, ErrorAction.FAIL_MESSAGE),
    (401, 190, ChannelError, ErrorAction.PAUSE_CHANNEL),
    (400, 131048, ChannelError, ErrorAction.PAUSE_CHANNEL),
    (400, 131031, ChannelError, ErrorAction.PAUSE_CHANNEL),
    (400, 368, ChannelError, ErrorAction.PAUSE_CHANNEL),
])
def test_graph_errors_map_to_typed_errors(cloud, graph, status, code, error_class, action):
    graph.fail_next(status, code)
    with pytest.raises(error_class) as info:
        cloud.send_text(CUSTOMER, "hello")
    err = info.value
    assert type(err) is error_class and err.action is action
    assert err.http_status == status
    assert err.code == (code if code is not None else status)
    assert err.details   # Graph's error_data.details is kept for support


def test_error_messages_are_plain_words(cloud, graph):
    graph.fail_next(401, 190)
    with pytest.raises(ChannelError) as info:
        cloud.send_text(CUSTOMER, "hi")
    assert info.value.message == "Access token expired or invalid - update it in Settings"

    graph.fail_next(400, 131047)
    with pytest.raises(RecipientError) as info:
        cloud.send_text(CUSTOMER, "hi")
    assert "24 hours" in info.value.message and "template" in info.value.message


def test_unknown_4xx_code_keeps_code_and_graph_message(cloud, graph):
    graph.fail_next(400, 139999, message="Some brand new restriction")
    with pytest.raises(RecipientError) as info:
        cloud.send_text(CUSTOMER, "hi")
    assert info.value.code == 139999
    assert "Some brand new restriction" in info.value.message


def test_retry_after_header_is_parsed(cloud, graph):
    graph.fail_next(429, 130429, retry_after=7)
    with pytest.raises(RetryableError) as info:
        cloud.send_text(CUSTOMER, "hi")
    assert info.value.retry_after == pytest.approx(7.0)


def test_fail_next_count_then_recovers(cloud, graph):
    graph.fail_next(503, None, count=2)
    for _ in range(2):
        with pytest.raises(RetryableError):
            cloud.send_text(CUSTOMER, "hi")
    assert cloud.send_text(CUSTOMER, "hi").provider_message_id.startswith("wamid.")
    assert len(graph.sent) == 1


def test_wrong_token_pauses_channel_and_never_leaks_it(graph, http_client):
    secret = "EAAGwrongSECRET987654321"
    provider = CloudProvider(PHONE_ID, WABA_ID, secret, base_url=graph.url,
                             api_version=graph.api_version, client=http_client)
    with pytest.raises(ChannelError) as info:
        provider.send_text(CUSTOMER, "hi")
    err = info.value
    assert err.code == 190 and err.http_status == 401
    for text in (str(err), err.message, err.details or "", repr(err), repr(provider)):
        assert secret not in text


def test_token_echoed_by_graph_is_scrubbed(cloud, graph):
    graph.fail_next(400, 100, message=f"Malformed access token {TOKEN}", details=f"token {TOKEN} bad")
    with pytest.raises(RecipientError) as info:
        cloud.send_text(CUSTOMER, "hi")
    assert TOKEN not in str(info.value) and TOKEN not in (info.value.details or "")
    assert "[redacted]" in info.value.details


def test_timeout_is_retryable_unless_a_message_may_have_left():
    with FakeGraphAPI(latency=0.4) as slow, httpx.Client(timeout=httpx.Timeout(0.1)) as client:
        slow.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID)
        provider = CloudProvider(PHONE_ID, WABA_ID, TOKEN, base_url=slow.url,
                                 api_version=slow.api_version, client=client)
        with pytest.raises(RetryableError) as info:
            provider.status()
        assert info.value.code == "timeout"
        with pytest.raises(RetryableError) as info:  # an upload sent twice delivers nothing twice
            provider.upload_media(b"\x89PNG", "image/png", "a.png")
        assert info.value.code == "timeout"
        for send in (lambda: provider.send_text(CUSTOMER, "hi"),
                     lambda: provider.send_media(CUSTOMER, "image", media_id="123")):
            with pytest.raises(MaybeSent) as maybe:
                send()
            assert maybe.value.action is ErrorAction.UNKNOWN and maybe.value.code == "no_answer"


def test_unreachable_and_5xx_html_are_retryable(cloud, graph):
    graph.go_down("error")
    with pytest.raises(RetryableError) as info:
        cloud.status()
    assert info.value.http_status == 500
    graph.go_down("refuse")
    with pytest.raises(RetryableError) as info:
        cloud.status()
    assert info.value.code == "unreachable"
    graph.come_up()
    assert cloud.status().state is ConnectionState.CONNECTED


# -- channel management ---------------------------------------------------------


def test_status_reads_phone_number_fields(cloud, graph):
    status = cloud.status()
    assert status.state is ConnectionState.CONNECTED
    assert (status.phone_number, status.verified_name, status.quality) == \
        ("+1 555-010-0000", "Acme Dental", "GREEN")
    request = graph.last("GET", PHONE_ID)
    assert request.path == f"/{graph.api_version}/{PHONE_ID}"
    assert {"display_phone_number", "verified_name", "quality_rating"} <= set(request.query["fields"].split(","))


def test_connect_checks_credentials_and_disconnect_is_local(cloud, graph):
    result = cloud.connect()
    assert result.state is ConnectionState.CONNECTED
    assert result.phone_number == "+1 555-010-0000" and result.profile_name == "Acme Dental"
    before = len(graph.requests)
    assert cloud.disconnect() is None
    assert len(graph.requests) == before


def test_subscribe_app(cloud, graph):
    assert cloud.subscribe_app() is True
    assert graph.subscribed == {WABA_ID}
    assert graph.last("POST").path == f"/{graph.api_version}/{WABA_ID}/subscribed_apps"


def test_list_templates_follows_paging(cloud, graph):
    names = [f"template_{i}" for i in range(5)]
    for name in names:
        graph.add_template(WABA_ID, name, "en_US")

    templates = cloud.list_templates(page_size=2)

    assert [t["name"] for t in templates] == names
    assert set(templates[0]) >= {"name", "language", "status", "category", "components"}
    pages = [r for r in graph.requests if r.path.endswith("/message_templates")]
    assert len(pages) == 3
    assert "after" not in pages[0].query and "after" in pages[1].query
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in pages)


def test_upload_then_download_media(cloud, graph):
    data = b"%PDF-1.7 fake invoice bytes"
    media_id = cloud.upload_media(data, "application/pdf", "invoice.pdf")

    assert graph.media[media_id]["data"] == data
    assert graph.media[media_id]["filename"] == "invoice.pdf"
    upload = graph.last("POST", "/media")
    assert upload.headers["content-type"].startswith("multipart/form-data")

    content, mime = cloud.download_media(media_id)
    assert (content, mime) == (data, "application/pdf")
    fetch = graph.last("GET", "/media-download/")
    assert fetch.headers["authorization"] == f"Bearer {TOKEN}"


def test_download_inbound_media(cloud, graph):
    media_id = graph.add_media(PHONE_ID, b"\xff\xd8jpeg", "image/jpeg")
    assert cloud.download_media(media_id) == (b"\xff\xd8jpeg", "image/jpeg")


# -- shared HTTP client ---------------------------------------------------------


def test_shared_client_is_lazy_and_resettable(graph):
    shared_http.reset_client()
    provider = CloudProvider(PHONE_ID, WABA_ID, TOKEN, base_url=graph.url, api_version=graph.api_version)
    assert shared_http._client is None            # constructing touched nothing
    try:
        provider.send_text(CUSTOMER, "via the pooled client")
        first = shared_http.get_client()
        assert shared_http.get_client() is first
        assert first.timeout.connect == 5.0 and first.timeout.read == 15.0
        shared_http._after_fork_in_child()           # a forked child forgets, never closes
        assert not first.is_closed and shared_http.get_client() is not first
    finally:
        shared_http.reset_client()
        first.close()
    assert len(graph.sent) == 1
