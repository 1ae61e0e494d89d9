"""A contact import in a real browser: upload a CSV, map its columns over the preview, watch the progress bar
reach the end without a reload, read the report and download the refused rows as CSV."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from tests.contact_import.helpers import contacts, csv_bytes, phone
from tests.e2e.steps import log_in
from tests.e2e.test_csp_flows import CspWatch
from tests.factories import make_tag

ROWS = 5000  # three chunks: the bar has somewhere to go


def _file() -> bytes:
    rows = [["Full name", "Cell", "Company", "Internal id"]]
    for n in range(ROWS):
        rows.append([f"Person {n}", "12345" if n == 10 else phone(n), f"Company {n % 7}", f"x{n}"])
    rows.append(["Twin of zero", phone(0), "Acme", "dup"])
    return csv_bytes(rows, delimiter=";")


def test_upload_map_watch_and_download_the_errors(app, live_server, new_page, create_user, in_tenant, worker_process,
                                                  tmp_path):
    user = create_user()
    with in_tenant(user.tenant_id):
        make_tag(name="imported")
    watch = CspWatch()
    page = watch.watch(new_page())
    log_in(page, live_server, user.email)

    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(files=[{"name": "people.csv", "mimeType": "text/csv",
                                                          "buffer": _file()}])
    page.get_by_role("button", name="Upload and map columns").click()

    expect(page.locator("#file-facts")).to_contain_text(f"{ROWS + 1} rows")
    expect(page.locator("#file-facts")).to_contain_text("separated by semicolons")
    expect(page.locator("#mapping-preview tbody tr").first).to_contain_text("Person 0")
    expect(page.locator("#column-0")).to_have_value("name")
    expect(page.locator("#column-1")).to_have_value("phone")
    page.locator("#column-3").select_option("")  # the internal id stays behind
    page.get_by_label("Create new and update by phone").check()
    page.get_by_label("imported").check()
    page.get_by_role("button", name="Start the import").click()

    expect(page.locator("#import-progress")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")
    expect(page.locator("#import-progress")).to_have_attribute("data-state", "done", timeout=60_000)
    expect(page.locator("[data-percent]")).to_have_text("100%")
    expect(page.locator('[data-counter="created"] dd')).to_have_text(str(ROWS - 1))
    expect(page.locator('[data-counter="errors"] dd')).to_have_text("2")
    expect(page.locator('#refused-rows tr[data-line="12"]')).to_contain_text("“12345” is not a valid phone number")
    expect(page.locator(f'#refused-rows tr[data-line="{ROWS + 2}"]')).to_contain_text("as line 2")
    assert page.evaluate("window.__marker") == "no reload"

    with page.expect_download() as download_info:
        page.locator("#errors-download").click()
    saved = Path(tmp_path) / "errors.csv"
    download_info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert [row[0] for row in rows] == ["line", "12", str(ROWS + 2)]
    assert rows[2][2] == f"Twin of zero;{phone(0)};Acme;dup"
    watch.check(page)

    found = contacts(in_tenant, user.tenant_id)
    assert len(found) == ROWS - 1
    assert found[phone(1)].custom_fields == {"Company": "Company 1"}
    assert [t.name for t in found[phone(1)].tags] == ["imported"]
