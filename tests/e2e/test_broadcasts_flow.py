"""A broadcast in a real browser through the sandbox: write it to a tag, confirm the count, and watch the bar
reach 100% with the counters updating without a reload."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.steps import link_sandbox, log_in
from tests.e2e.test_csp_flows import CspWatch
from tests.factories import link, make_contact, make_tag


def test_broadcast_to_a_tag_and_watch_it_finish(app, live_server, new_page, create_user, in_tenant, worker_process):
    user = create_user()
    with in_tenant(user.tenant_id):
        customers = make_tag(name="customers")
        for n in range(3):
            link(make_contact(name=f"Customer {n}"), customers)
        link(make_contact(name="Gone customer", opted_out=True), customers)
        make_contact(name="Someone else")

    watch = CspWatch()
    page = watch.watch(new_page())
    log_in(page, live_server, user.email)
    link_sandbox(page, new_page, live_server)  # the pretend phone scans the code

    page.get_by_role("link", name="Broadcasts").first.click()
    page.get_by_role("button", name="New broadcast").first.click()
    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.get_by_label("Contacts with any of these tags").check()
    page.locator("#tag_ids").select_option(label="customers")
    page.locator("#body").fill("Hi {{first_name|there}}, spring sale today!")
    expect(page.locator("[data-audience-count]")).to_have_text("3")
    expect(page.locator("[data-sample]")).to_contain_text("Hi Customer, spring sale today!")
    page.get_by_role("button", name="Save and review").click()

    expect(page.locator("[data-confirm-count]")).to_have_text("3")
    page.get_by_role("button", name="Send to 3 contacts now").click()
    expect(page.locator("#broadcast-progress")).to_be_visible()
    page.evaluate("window.__marker = 'no reload'")
    expect(page.locator("[data-percent]")).to_have_text("100%", timeout=30_000)
    expect(page.locator("#broadcast-progress")).to_have_attribute("data-status", "completed", timeout=15_000)
    counters = page.locator(".broadcast-counters")
    expect(counters.locator('[data-counter="queued"] dd')).to_have_text("0")
    expect(counters.locator('[data-counter="failed"] dd')).to_have_text("0")
    assert page.evaluate("window.__marker") == "no reload"
    watch.check(page)
