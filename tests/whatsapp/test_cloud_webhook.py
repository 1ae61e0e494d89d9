"""CloudProvider.parse_webhook on realistic Cloud API webhook bodies."""
from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from tests.fakes.graph_api import (
    build_webhook,
    merge_webhooks,
    message_payload,
    status_payload,
    user_preferences_payload,
)
from whatsapp.base import InboundMessage, OptOutEvent, StatusUpdate
from whatsapp.cloud import CloudProvider

from .conftest import OTHER_PHONE_ID, PHONE_ID, TOKEN, WABA_ID

TS = 1_717_171_717
WHEN = datetime(2024, 5, 31, 16, 8, 37, tzinfo=UTC)


@pytest.fixture
def cloud():
    """Parsing needs no network; the base URL is never contacted."""
    return CloudProvider(PHONE_ID, WABA_ID, TOKEN, base_url="http://127.0.0.1:9")


def _one(cloud, message) -> InboundMessage:
    events = cloud.parse_webhook(build_webhook(PHONE_ID, messages=[message],
                                               profile_names={"15551234567": "Ana Lima"}))
    assert len(events) == 1 and isinstance(events[0], InboundMessage)
    return events[0]


def test_text_message_with_reply_context(cloud):
    msg = _one(cloud, message_payload("text", {"body": "Can I move my booking?"}, message_id="wamid.IN1",
                                      timestamp=TS, context_id="wamid.OUT9"))
    assert msg.provider_message_id == "wamid.IN1"
    assert (msg.wa_id, msg.profile_name, msg.type) == ("15551234567", "Ana Lima", "text")
    assert msg.text == "Can I move my booking?"
    assert msg.context_message_id == "wamid.OUT9"
    assert msg.timestamp == WHEN and msg.timestamp.tzinfo is not None


@pytest.mark.parametrize("kind, content", [
    ("image", {"id": "m1", "mime_type": "image/jpeg", "sha256": "abc=", "caption": "my rash"}),
    ("video", {"id": "m2", "mime_type": "video/mp4", "sha256": "def="}),
    ("sticker", {"id": "m3", "mime_type": "image/webp", "sha256": "ghi=", "animated": False}),
    ("document", {"id": "m4", "mime_type": "application/pdf", "sha256": "jkl=",
                  "filename": "referral.pdf", "caption": "referral"}),
])
def test_media_messages(cloud, kind, content):
    msg = _one(cloud, message_payload(kind, content, timestamp=TS))
    assert msg.type == kind
    assert msg.media.media_id == content["id"]
    assert msg.media.mime_type == content["mime_type"] and msg.media.sha256 == content["sha256"]
    assert msg.media.caption == content.get("caption") and msg.text == content.get("caption")
    assert msg.media.filename == content.get("filename")


def test_voice_note(cloud):
    msg = _one(cloud, message_payload("audio", {"id": "m5", "mime_type": "audio/ogg; codecs=opus",
                                                "sha256": "x", "voice": True}))
    assert msg.type == "audio" and msg.media.media_id == "m5" and msg.payload["voice"] is True


def test_location(cloud):
    msg = _one(cloud, message_payload("location", {"latitude": -23.5505, "longitude": -46.6333,
                                                   "name": "Clinic", "address": "Av. Paulista 1000"}))
    assert msg.type == "location"
    assert msg.payload == {"latitude": -23.5505, "longitude": -46.6333, "name": "Clinic",
                           "address": "Av. Paulista 1000"}
    assert "Clinic" in msg.text and "-23.5505" in msg.text


def test_contacts(cloud):
    cards = [{"name": {"formatted_name": "Dr. Rui", "first_name": "Rui"},
              "phones": [{"phone": "+55 11 99999-0000", "wa_id": "5511999990000", "type": "CELL"}]}]
    msg = _one(cloud, message_payload("contacts", {"contacts": cards}))
    assert msg.type == "contacts" and msg.payload["contacts"] == cards
    assert msg.text == "Shared contact: Dr. Rui (+55 11 99999-0000)"


@pytest.mark.parametrize("reply_type, reply", [
    ("button_reply", {"id": "confirm", "title": "Confirm"}),
    ("list_reply", {"id": "slot-3", "title": "Tue 10:00", "description": "with Dr. Rui"}),
])
def test_interactive_replies(cloud, reply_type, reply):
    msg = _one(cloud, message_payload("interactive", {"type": reply_type, reply_type: reply},
                                      context_id="wamid.MENU"))
    assert msg.type == "interactive" and msg.text == reply["title"]
    assert msg.payload["interactive_type"] == reply_type and msg.payload["id"] == reply["id"]
    assert msg.context_message_id == "wamid.MENU"


def test_template_quick_reply_button(cloud):
    msg = _one(cloud, message_payload("button", {"payload": "STOP_PROMOS", "text": "Stop promotions"}))
    assert msg.type == "button" and msg.text == "Stop promotions"
    assert msg.payload == {"payload": "STOP_PROMOS"}


def test_reaction_points_at_reacted_message(cloud):
    msg = _one(cloud, message_payload("reaction", {"message_id": "wamid.OUT1", "emoji": "\U0001F44D"}))
    assert msg.type == "reaction" and msg.text == "\U0001F44D"
    assert msg.context_message_id == "wamid.OUT1"


@pytest.mark.parametrize("kind", ["unsupported", "order", "some_future_type"])
def test_unknown_types_become_unsupported(cloud, kind):
    errors = [{"code": 131051, "title": "Message type unknown"}]
    msg = _one(cloud, message_payload(kind, {"x": 1} if kind != "unsupported" else None, errors=errors))
    assert msg.type == "unsupported"
    assert msg.payload["original_type"] == kind


def test_statuses_including_failure_code(cloud):
    body = build_webhook(PHONE_ID, statuses=[
        status_payload("wamid.A", "sent", timestamp=TS),
        status_payload("wamid.A", "delivered", timestamp=TS),
        status_payload("wamid.A", "read", timestamp=TS),
        status_payload("wamid.B", "failed", timestamp=TS, error_code=131026, error_title="Message undeliverable"),
    ])
    events = cloud.parse_webhook(body)
    assert [(e.provider_message_id, e.status) for e in events] == [
        ("wamid.A", "sent"), ("wamid.A", "delivered"), ("wamid.A", "read"), ("wamid.B", "failed")]
    assert all(isinstance(e, StatusUpdate) and e.timestamp == WHEN for e in events)
    assert events[0].recipient_wa_id == "15551234567" and events[0].error_code is None
    assert (events[3].error_code, events[3].error_title) == (131026, "Message undeliverable")


def test_marketing_opt_out_from_failed_status_and_user_preferences(cloud):
    failed = cloud.parse_webhook(build_webhook(PHONE_ID, statuses=[
        status_payload("wamid.C", "failed", recipient_id="15550009999", timestamp=TS, error_code=131050)]))
    assert isinstance(failed[0], StatusUpdate) and failed[0].status == "failed"
    assert failed[1] == OptOutEvent(wa_id="15550009999", timestamp=WHEN)

    prefs = cloud.parse_webhook(build_webhook(PHONE_ID, user_preferences=[
        user_preferences_payload("15550001111", "stop", timestamp=TS),
        user_preferences_payload("15550002222", "resume", timestamp=TS),
        user_preferences_payload("15550003333", "stop", category="something_else", timestamp=TS)]))
    assert prefs == [OptOutEvent(wa_id="15550001111", timestamp=WHEN)]


def test_every_entry_and_change_is_parsed(cloud):
    first = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "one"}, wa_id="15550000001")])
    second = build_webhook(PHONE_ID, statuses=[status_payload("wamid.X", "delivered")])
    third = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "three"}, wa_id="15550000003")])

    for body in (merge_webhooks(first, second, third), merge_webhooks(first, second, third, same_entry=True)):
        events = cloud.parse_webhook(body)
        assert [getattr(e, "text", None) or getattr(e, "status", None) for e in events] == \
            ["one", "delivered", "three"]
    assert len(merge_webhooks(first, second, third, same_entry=True)["entry"]) == 1


def test_foreign_phone_number_id_is_skipped_with_warning(cloud, caplog):
    mine = build_webhook(PHONE_ID, messages=[message_payload("text", {"body": "mine"})])
    theirs = build_webhook(OTHER_PHONE_ID, messages=[message_payload("text", {"body": "not mine"})])
    with caplog.at_level(logging.WARNING, logger="whatsapp.cloud_webhook"):
        events = cloud.parse_webhook(merge_webhooks(theirs, mine, same_entry=True))
    assert [e.text for e in events] == ["mine"]
    assert OTHER_PHONE_ID in caplog.text


def test_other_objects_and_fields_are_ignored(cloud):
    assert cloud.parse_webhook({"object": "page", "entry": []}) == []
    body = build_webhook(PHONE_ID, field="message_template_status_update")
    assert cloud.parse_webhook(body) == []
    assert cloud.parse_webhook({"object": "whatsapp_business_account"}) == []
