"""With OUTBOUND_WEBHOOKS_ALLOW_PRIVATE, loopback and private receivers are reachable; link-local stays refused."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from extensions import db
from models import WebhookDelivery
from services.errors import Invalid
from services.outbound_webhooks import create_subscription
from tests.outbound_webhooks.helpers import emit_event


@pytest.mark.parametrize("url", ["https://169.254.169.254/latest/meta-data/", "http://[fe80::1]/x",
                                 "http://[fd00:ec2::254]/latest"])
def test_metadata_and_link_local_stay_refused(app, create_user, in_tenant, url):
    owner = create_user()
    with in_tenant(owner.tenant_id), pytest.raises(Invalid) as refused:
        create_subscription(url, ["message.received"])
    assert "link-local" in refused.value.errors["url"]


def test_the_connection_goes_to_the_checked_address_under_the_hosts_name(app, create_user, in_tenant, receiver,
                                                                         run_jobs, monkeypatch):
    """The name is resolved once, by the guard, and the socket opens to that address; Host keeps the name."""
    real, lookups = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "hooks.example.test":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    owner = create_user()
    with in_tenant(owner.tenant_id):
        create_subscription(f"http://hooks.example.test:{receiver.port}/in", ["message.received"])
        emit_event()
    run_jobs()
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"hooks.example.test:{receiver.port}"
    assert lookups == ["hooks.example.test", "hooks.example.test"]  # saved, then connected
    with in_tenant(owner.tenant_id):
        assert db.session.scalar(select(WebhookDelivery)).state == "delivered"
