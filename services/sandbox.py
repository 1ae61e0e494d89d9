"""Wiring the sandbox provider into the real pipeline: its events become webhook events."""
from __future__ import annotations

import json

from flask import current_app

from core.enums import ConnectionState, MessageStatus
from models import Channel
from services.public_url import public_base_url
from services.queueing import INBOUND_QUEUE, enqueue_after_commit
from services.webhook_events import store_event
from whatsapp.sandbox import SANDBOX_NAME, SANDBOX_NUMBER, SandboxProvider, new_message_id, sandbox_body

# What a sandbox send goes through, one receipt each after SANDBOX_RECEIPT_DELAYS.
RECEIPTS = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)


def phone_url(channel: Channel) -> str:
    """The page that plays the sandbox phone (the sandbox QR encodes it)."""
    return f"{public_base_url()}/sandbox/{channel.instance_name}"


def sandbox_provider(channel: Channel) -> SandboxProvider:
    """A SandboxProvider whose sends schedule receipts through the job queue."""

    def schedule_receipts(provider_message_id: str, to: str) -> None:
        delays = current_app.config["SANDBOX_RECEIPT_DELAYS"]
        for status, delay in zip(RECEIPTS, delays, strict=False):
            body = sandbox_body(channel.instance_name, "status", id=provider_message_id, status=str(status), to=to)
            enqueue_after_commit("jobs.sandbox.emit_sandbox_event", channel.tenant_id, channel.id, body, delay=delay,
                                 queue_name=INBOUND_QUEUE)

    return SandboxProvider(channel.instance_name, phone_url=phone_url(channel),
                           state=ConnectionState(channel.state), on_send=schedule_receipts)


def record_sandbox_event(channel: Channel, body: dict) -> int:
    """Store a sandbox event exactly as a received webhook is stored, and queue its processing."""
    return store_event(channel.id, channel.kind, json.dumps(body))


def simulate_scan(channel: Channel) -> int:
    """The sandbox phone "scans" the QR: a connection event enters the pipeline."""
    return record_sandbox_event(channel, sandbox_body(channel.instance_name, "connection",
                                                      state=str(ConnectionState.CONNECTED),
                                                      phone=SANDBOX_NUMBER, name=SANDBOX_NAME))


def simulate_inbound(channel: Channel, from_number: str, name: str, text: str) -> int:
    """A customer writes to the sandbox number."""
    return record_sandbox_event(channel, sandbox_body(channel.instance_name, "message", id=new_message_id("in"),
                                                      text=text, name=name, **{"from": from_number}))
