"""Webhook body signatures (X-Hub-Signature-256)."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.fakes.graph_api import build_webhook, message_payload
from whatsapp.signature import sign_payload, verify_signature

SECRET = "app-secret-123"
BODY = json.dumps(build_webhook("106540352242922", messages=[message_payload("text", {"body": "olá"})]),
                  ensure_ascii=False).encode()


def test_sign_matches_an_independent_hmac():
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign_payload(SECRET, BODY) == f"sha256={expected}"


def test_valid_signature_verifies():
    assert verify_signature(SECRET, BODY, sign_payload(SECRET, BODY))
    # Hex digits are compared case-insensitively.
    assert verify_signature(SECRET, BODY, sign_payload(SECRET, BODY).upper().replace("SHA256=", "sha256="))


def test_tampered_body_or_other_secret_fails():
    header = sign_payload(SECRET, BODY)
    assert not verify_signature(SECRET, BODY.replace("olá".encode(), b"ola"), header)
    assert not verify_signature("another-secret", BODY, header)
    # Re-serialising the JSON changes the bytes, so only the raw body may be verified.
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY and not verify_signature(SECRET, reserialised, header)


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + "0" * 40, "sha256=xyz", "sha256=" + "0" * 63,
    "sha256=" + "g" * 64, sign_payload(SECRET, BODY)[7:], 12345,
])
def test_missing_or_malformed_header_is_rejected(header):
    assert verify_signature(SECRET, BODY, header) is False


def test_empty_secret_never_verifies():
    assert verify_signature("", BODY, sign_payload("", BODY)) is False
