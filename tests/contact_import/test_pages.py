"""The import pages: upload, mapping with a preview, start, the polled progress and the report with its CSV."""
from __future__ import annotations

import csv
import io

import pytest

from models import Tenant
from tests.conftest import csrf_token_from
from tests.contact_import.helpers import contacts, csv_bytes, phone
from tests.factories import make_tag

HX = {"HX-Request": "true"}
FILE = csv_bytes([["Full name", "Mobile", "E-mail", "Company"],
                  ["Ann Lee", phone(1), "ann@example.com", "Acme"],
                  ["=Bad()", "not a phone", "", "Acme"],
                  ["Bo Chan", phone(2), "", "Initech"]], delimiter=";")


@pytest.fixture
def client_in(client, owner, login):
    login(owner)
    return client


def _upload(client, data: bytes = FILE, name: str = "people.csv"):
    token = csrf_token_from(client.get("/contacts/import").get_data(as_text=True))
    return client.post("/contacts/import", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _start(client, import_id: int, **fields):
    page = client.get(f"/contacts/import/{import_id}/mapping").get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page), "mode": "create", "column-0": "name", "column-1": "phone",
            "column-2": "email", "column-3": "custom:Company", **fields}
    return client.post(f"/contacts/import/{import_id}/mapping", data=data)


def test_upload_guesses_the_mapping_and_previews_the_first_rows(client_in):
    response = _upload(client_in)
    assert response.status_code == 303 and response.location.endswith("/contacts/import/1/mapping")
    page = client_in.get(response.location).get_data(as_text=True)
    assert "3 rows · read as UTF-8 · separated by semicolons" in " ".join(page.split())
    assert "<td>Ann Lee</td>" in page and "<td>not a phone</td>" in page
    for column, value in (("0", "name"), ("1", "phone"), ("2", "email"), ("3", "custom:Company")):
        select = page.split(f'name="column-{column}"')[1].split("</select>")[0]
        assert f'value="{value}" selected' in select


@pytest.mark.parametrize("data, message", [(b"", "The file is empty."),
                                           (b"\x00\x01PK\x03binary", "This is not a CSV file")])
def test_an_unreadable_upload_is_refused_with_the_reason(client_in, data, message):
    response = _upload(client_in, data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_mapping_without_a_phone_column_is_refused(client_in):
    _upload(client_in)
    response = _start(client_in, 1, **{"column-1": ""})
    assert response.status_code == 422
    assert "Choose the column that holds the phone number." in response.get_data(as_text=True)


def test_a_file_over_the_quota_is_refused_on_the_mapping_page_with_the_numbers(client_in, owner, in_tenant):
    with in_tenant(owner.tenant_id) as session:
        session.get(Tenant, owner.tenant_id).quota_contacts = 2
    _upload(client_in)
    response = _start(client_in, 1)
    assert response.status_code == 422
    assert "This file would add 3 contacts, but the workspace has room for 2 more (limit 2, 0 stored)." in \
        response.get_data(as_text=True)
    assert contacts(in_tenant, owner.tenant_id) == {}


def test_start_then_progress_then_the_report_and_its_csv(client_in, owner, in_tenant, run_jobs):
    with in_tenant(owner.tenant_id):
        vip = make_tag(name="vip").id
    _upload(client_in)
    response = _start(client_in, 1, tags=str(vip))
    assert response.status_code == 303 and response.location.endswith("/contacts/import/1")
    page = client_in.get("/contacts/import/1").get_data(as_text=True)
    assert 'data-state="queued"' in page and 'hx-trigger="every 1s"' in page
    unchanged = client_in.get("/contacts/import/1/progress?v=queued:0:0", headers=HX)
    assert unchanged.status_code == 204

    run_jobs()
    partial = client_in.get("/contacts/import/1/progress?v=queued:0:0", headers=HX).get_data(as_text=True)
    assert 'data-state="done"' in partial and "hx-trigger" not in partial
    assert '<div data-counter="created"><dt>created</dt><dd>2</dd>' in partial
    assert '<tr data-line="3"><td>3</td><td>“not a phone” is not a phone number.</td>' in partial
    found = contacts(in_tenant, owner.tenant_id)
    assert found[phone(1)].custom_fields == {"Company": "Acme"} and [t.name for t in found[phone(1)].tags] == ["vip"]

    download = client_in.get("/contacts/import/1/errors.csv")
    assert download.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    # The row comes back as it was in the file (semicolons); one a spreadsheet would run as a formula is defused.
    assert rows == [["line", "reason", "row"], ["3", "“not a phone” is not a phone number.",
                                                 "'=Bad();not a phone;;Acme"]]
    assert client_in.get("/contacts/import").get_data(as_text=True).count('data-import="1"') == 1


def test_a_started_import_cannot_be_started_again(client_in, run_jobs):
    _upload(client_in)
    _start(client_in, 1)
    again = _start(client_in, 1)
    assert again.status_code == 200 and 'id="import-progress"' in again.get_data(as_text=True)
