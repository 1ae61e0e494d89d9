"""Fixtures for the WhatsApp adapter tests: fake back ends on loopback and adapters wired to them."""
from __future__ import annotations

import httpx
import pytest

from tests.fakes import FakeGateway, FakeGraphAPI, WebhookSink
from whatsapp.cloud import CloudProvider
from whatsapp.gateway import GatewayProvider

PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAGtestTOKENsecret0123456789"
OTHER_PHONE_ID = "109999999999999"
GATEWAY_KEY = "gateway-global-key"
INSTANCE = "tenant-42"


@pytest.fixture
def http_client():
    """A private client with short timeouts so a broken test fails fast."""
    with httpx.Client(timeout=httpx.Timeout(3.0, connect=1.0), trust_env=False) as client:
        yield client


@pytest.fixture
def graph():
    """A fake Graph API knowing one phone number (PHONE_ID, reachable with TOKEN)."""
    with FakeGraphAPI() as fake:
        fake.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID, display_phone_number="+1 555-010-0000",
                              verified_name="Acme Dental", quality_rating="GREEN")
        yield fake


@pytest.fixture
def cloud(graph, http_client):
    """CloudProvider talking to the fake Graph API."""
    return CloudProvider(PHONE_ID, WABA_ID, TOKEN, base_url=graph.url, api_version=graph.api_version,
                         client=http_client)


@pytest.fixture
def sink():
    """Stands in for the app's webhook endpoint."""
    with WebhookSink() as server:
        yield server


@pytest.fixture
def gateway():
    """A fake Evolution gateway with no instances yet."""
    with FakeGateway(GATEWAY_KEY) as fake:
        yield fake


@pytest.fixture
def gw(gateway, sink, http_client):
    """GatewayProvider for INSTANCE whose webhooks land in `sink`."""
    return GatewayProvider(gateway.url, GATEWAY_KEY, INSTANCE, webhook_url=f"{sink.url}/webhooks/gateway",
                           client=http_client)
