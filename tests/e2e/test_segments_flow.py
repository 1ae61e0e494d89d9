"""Build a segment in a real browser: the preview count follows each condition, and the list shows it saved."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.steps import log_in
from tests.e2e.test_csp_flows import CspWatch
from tests.factories import link, make_contact, make_tag


def test_build_a_segment_with_a_live_preview(live_server, new_page, create_user, in_tenant):
    user = create_user()
    with in_tenant(user.tenant_id):
        vip, lead = make_tag(name="vip"), make_tag(name="lead")
        for n in range(4):
            link(make_contact(name=f"Vip {n}"), vip)
        link(make_contact(name="Vip opted out", opted_out=True), vip)
        both = make_contact(name="Vip and lead")
        link(both, vip)
        link(both, lead)
        link(make_contact(name="Only lead"), lead)

    watch = CspWatch()
    page = watch.watch(new_page())
    log_in(page, live_server, user.email)

    page.goto(f"{live_server}/segments/new")
    count = page.locator("[data-preview-count]")
    expect(count).to_have_text("7")  # no condition yet: every contact
    page.evaluate("window.__marker = 'same page'")
    page.get_by_label("Name", exact=True).fill("VIPs who are not leads")

    rows = page.locator("[data-condition]")
    first = rows.nth(0)
    expect(first.get_by_label("Tags")).to_be_hidden()  # inputs appear with the condition that reads them
    first.get_by_label("Condition", exact=True).select_option(label="has any of the tags")
    expect(first.get_by_label("Text or value")).to_be_hidden()
    # The preview follows 150 ms after the change, before a tag is picked: it asks for one, with no error
    # (a refused request would be a console error, which the watch fails on), and still counts everyone.
    expect(page.locator("[data-preview-hints]")).to_have_text("Condition 1: choose a tag to include it.")
    expect(count).to_have_text("7")
    first.get_by_label("Tags").select_option(label="vip")
    expect(page.locator("[data-preview-hints]")).to_have_count(0)
    expect(count).to_have_text("6")
    expect(page.locator("#segment-preview")).to_contain_text("1 of them opted out")

    page.get_by_role("button", name="Add condition").click()
    expect(rows).to_have_count(2)
    second = rows.nth(1)
    second.get_by_label("Condition", exact=True).select_option(label="has none of the tags")
    second.get_by_label("Tags").select_option(label="lead")
    expect(count).to_have_text("5")
    expect(page.locator("#segment-preview")).not_to_contain_text("Vip and lead")

    # A third row, removed again: the preview follows the rows that remain.
    page.get_by_role("button", name="Add condition").click()
    third = rows.nth(2)
    third.get_by_label("Condition", exact=True).select_option(label="name contains")
    third.get_by_label("Text or value").fill("opted")
    expect(count).to_have_text("1")
    third.get_by_role("button", name="Remove condition").click()
    expect(rows).to_have_count(2)
    expect(count).to_have_text("5")
    assert page.evaluate("window.__marker") == "same page"  # no reload so far

    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Segments")).to_be_visible()
    row = page.locator("#segment-list tbody tr", has_text="VIPs who are not leads")
    expect(row.locator("[data-count]")).to_have_text("5")
    expect(row.locator("td").nth(2)).to_have_text("4")  # the opted-out VIP is never reachable in bulk

    row.get_by_role("link", name="VIPs who are not leads").click()
    expect(page.locator("[data-preview-count]")).to_have_text("5")
    expect(page.locator("[data-condition]")).to_have_count(2)
    watch.check(page)
