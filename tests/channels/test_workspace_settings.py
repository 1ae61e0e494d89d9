"""Settings › Workspace: friendly refusals naming the field, and the workspace's time zone."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import Tenant

SETTINGS = {"name": "Shop", "default_region": "US", "time_zone": "UTC", "opt_out_keywords": "STOP",
            "opt_in_keywords": "START", "retention_days": "30", "retention_max_messages": "500"}
WTFORMS_WORDS = ("This field is required", "Not a valid integer value", "Not a valid choice", "Number must be")


@pytest.fixture
def owner(client, create_user, login):
    user = create_user(tenant_name="Shop")
    login(user)
    return user


def tenant_of(app, user) -> Tenant:
    with app.app_context():
        tenant = db.session.get(Tenant, user.tenant_id)
        db.session.expunge(tenant)
        return tenant


@pytest.mark.parametrize("changes, messages", [
    ({"name": "", "retention_days": "", "retention_max_messages": ""},
     ["Enter a name for the workspace.", "Enter how many days to keep messages.",
      "Enter how many messages to keep at most."]),
    ({"retention_days": "a year", "retention_max_messages": "lots"},
     ["Enter the number of days to keep messages as a whole number", "Enter the most messages to keep as a whole"]),
    ({"retention_days": "0", "retention_max_messages": "5"},
     ["Keep messages for 1 to 3,650 days.", "Keep between 100 and 10,000,000 messages."]),
    ({"name": "x" * 121}, ["Keep the workspace name to 120 characters or fewer."]),
    ({"default_region": "ZZ"}, ["Choose a phone region from the list."]),
    ({"time_zone": "Mars/Olympus_Mons"}, ["Choose a time zone from the list"]),
    ({"time_zone": "../../etc/passwd"}, ["Choose a time zone from the list"]),
    ({"time_zone": ""}, ["Choose a time zone from the list"]),
])
def test_refusals_are_sentences_naming_the_field(app, client, owner, changes, messages):
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post("/settings/", data={**SETTINGS, **changes}, headers=headers)
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        for message in messages:
            assert message in page
        assert not any(words in page for words in WTFORMS_WORDS)
    assert tenant_of(app, owner).retention_days != 0 and tenant_of(app, owner).time_zone == "UTC"


def test_the_time_zone_is_chosen_from_the_iana_list(app, client, owner):
    page = client.get("/settings/").get_data(as_text=True)
    assert re.search(r'<option selected value="UTC">UTC</option>', page)
    assert '<option value="America/New_York">America/New York</option>' in page
    response = client.post("/settings/", data={**SETTINGS, "time_zone": "America/Sao_Paulo"})
    assert response.status_code == 303
    assert tenant_of(app, owner).time_zone == "America/Sao_Paulo"
    assert '<option selected value="America/Sao_Paulo">' in client.get("/settings/").get_data(as_text=True)
    # A post without the field (an older open page) keeps the zone.
    without = {key: value for key, value in SETTINGS.items() if key != "time_zone"}
    assert client.post("/settings/", data=without).status_code == 303
    assert tenant_of(app, owner).time_zone == "America/Sao_Paulo"
