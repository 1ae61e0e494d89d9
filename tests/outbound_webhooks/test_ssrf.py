"""SSRF: webhooks go to public HTTPS addresses only, checked when saved and again when sent (every address)."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from extensions import db
from models import WebhookDelivery, WebhookSubscription
from services.errors import Invalid
from services.outbound_webhooks import create_subscription, send_to_url
from tests.outbound_webhooks.helpers import emit_event

REFUSED_URLS = [
    ("http://93.184.216.34/hooks", "must start with https://"),
    ("https://127.0.0.1/hooks", "127.0.0.1 is a loopback address"),
    ("https://127.8.9.10:8443/hooks", "loopback"),
    ("https://[::1]/hooks", "::1 is a loopback address"),
    ("https://10.0.0.5/hooks", "10.0.0.5 is a private address"),
    ("https://172.16.3.4/hooks", "private"),
    ("https://192.168.1.1/hooks", "private"),
    ("https://[fd12:3456::1]/hooks", "private"),
    ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://[fe80::1]/hooks", "link-local"),
    ("https://[::ffff:127.0.0.1]/hooks", "127.0.0.1 is a loopback address"),
    ("https://[64:ff9b::a00:1]/hooks", "10.0.0.1 is a private address"),
    ("https://[2002:a00:1::]/hooks", "10.0.0.1 is a private address"),
    ("https://0.0.0.0/hooks", "not a host address"),
    ("https://100.64.0.1/hooks", "reserved"),
    ("https://240.0.0.1/hooks", "reserved"),
    ("https://localhost/hooks", "localhost resolves to"),
    ("https://user:pw@93.184.216.34/hooks", "Leave the user name and password out"),
    ("ftp://93.184.216.34/hooks", "must start with https://"),
    ("https:///hooks", "Enter a valid URL"),
]


@pytest.fixture
def app_overrides():
    """An install as shipped: no private addresses."""
    return {"OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": False}


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for made-up names, in turn (the last answer repeats); counts the lookups."""
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        turn = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in turn]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


@pytest.mark.parametrize("url, message", REFUSED_URLS)
def test_refused_when_saved(app, create_user, in_tenant, url, message):
    owner = create_user()
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        create_subscription(url, ["message.received"])
    assert message in refused.value.errors["url"]
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(WebhookSubscription)) is None


def test_a_public_https_address_is_accepted(app, create_user, in_tenant):
    owner = create_user()
    with in_tenant(owner.tenant_id):
        subscription, _secret = create_subscription("https://93.184.216.34/hooks", ["message.received"])
        assert subscription.id


def test_a_name_resolving_to_a_private_address_is_refused_when_saved(app, create_user, in_tenant, fake_dns):
    answers, _ = fake_dns
    answers["hooks.example.test"] = [["93.184.216.34", "10.1.2.3"]]  # every address must pass, not just one
    owner = create_user()
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        create_subscription("https://hooks.example.test/in", ["message.received"])
    assert refused.value.errors["url"] == ("Webhooks cannot be sent there: hooks.example.test resolves to "
                                           "10.1.2.3 is a private address.")


def test_an_unknown_host_is_refused_when_saved(app, create_user, in_tenant):
    owner = create_user()
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        create_subscription("https://no-such-host.invalid/in", ["message.received"])
    assert refused.value.errors["url"] == "The host no-such-host.invalid could not be found."


def test_dns_rebinding_is_refused_at_send_time(app, create_user, in_tenant, fake_dns, receiver, run_jobs):
    """Public when saved, loopback when sent: the send-time lookup is the one connected to, and it is refused."""
    answers, lookups = fake_dns
    answers["hooks.example.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    owner = create_user()
    url = f"https://hooks.example.test:{receiver.port}/hooks"
    with in_tenant(owner.tenant_id):
        create_subscription(url, ["message.received"])
        emit_event()
    run_jobs()
    assert receiver.requests == []
    assert lookups == ["hooks.example.test", "hooks.example.test"]  # once when saved, once to connect
    with in_tenant(owner.tenant_id):
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.state == "failed"
        assert delivery.last_error == ("Webhooks cannot be sent there: hooks.example.test resolves to "
                                       "127.0.0.1 is a loopback address.")


@pytest.mark.parametrize("stored", ["https://169.254.169.254/latest/meta-data/", "https://[::1]/hooks",
                                    "http://93.184.216.34/hooks"])
def test_a_stored_url_that_became_unsafe_is_refused_at_send_time(app, create_user, in_tenant, run_jobs, stored):
    """A URL stored before the rules (or the setting) changed is checked again before anything connects."""
    owner = create_user()
    with in_tenant(owner.tenant_id):
        subscription, _ = create_subscription("https://93.184.216.34/hooks", ["message.received"])
        subscription.url = stored
        emit_event()
    run_jobs()
    with in_tenant(owner.tenant_id):
        delivery = db.session.scalar(select(WebhookDelivery))
        assert delivery.state == "failed" and delivery.attempts == 1
        assert ("cannot be sent there" in delivery.last_error) or ("https://" in delivery.last_error)


def test_send_to_url_refuses_a_private_address(app, create_user, in_tenant):
    owner = create_user()
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        send_to_url("https://10.0.0.1/x", "whsec_x", "workflow.step", {})
    assert "private" in refused.value.errors["url"]
