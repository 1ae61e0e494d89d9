"""Apps wired to a fake Graph API and a fake gateway on loopback, and tenants to link."""
from __future__ import annotations

import pytest

from tests.fakes import FakeGateway, FakeGraphAPI

PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
TOKEN = "EAAGtestTOKENsecret0123456789abcdef"
APP_SECRET = "0123456789abcdef0123456789abcdef"
GATEWAY_KEY = "gateway-global-key"


@pytest.fixture
def graph():
    """A fake Graph API knowing one phone number."""
    with FakeGraphAPI() as fake:
        fake.add_phone_number(PHONE_ID, TOKEN, waba_id=WABA_ID, display_phone_number="+1 555-010-0000",
                              verified_name="Acme Dental", quality_rating="GREEN")
        yield fake


@pytest.fixture
def gateway():
    """A fake Evolution-style gateway."""
    with FakeGateway(GATEWAY_KEY) as fake:
        yield fake


@pytest.fixture
def app_overrides(graph, gateway):
    return {
        "WHATSAPP_GRAPH_URL": graph.url, "WHATSAPP_GRAPH_VERSION": graph.api_version,
        "WHATSAPP_GATEWAY_URL": gateway.url, "WHATSAPP_GATEWAY_KEY": GATEWAY_KEY,
        "SANDBOX_RECEIPT_DELAYS": (0, 0, 0),
    }


@pytest.fixture
def cloud_credentials():
    return {"phone_number_id": PHONE_ID, "waba_id": WABA_ID, "access_token": TOKEN, "app_secret": APP_SECRET}


@pytest.fixture
def cloud_tenant(create_user, login, client, cloud_credentials):
    """A logged-in tenant with Cloud API credentials saved through the settings form."""
    user = create_user(tenant_name="Cloud Co")
    login(user)
    response = client.post("/settings/whatsapp/cloud", data=cloud_credentials)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return user
