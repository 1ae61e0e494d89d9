"""Steps many browser tests take on the way to what they test: logging in and linking the sandbox."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD


def log_in(page, base: str, email: str, password: str = TEST_PASSWORD) -> None:
    """Log in through the form and wait until the app shows the logged-in layout."""
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_attached()


def link_sandbox(page, new_page, base: str):
    """Use the sandbox from Settings and scan its code with the pretend phone; returns the phone's page."""
    page.goto(f"{base}/settings/whatsapp")
    page.get_by_role("button", name="Use the sandbox").click()
    phone = new_page()
    phone.goto(page.get_by_role("link", name="Open the sandbox phone").get_attribute("href"))
    phone.get_by_role("button", name="Scan and link").click()
    expect(phone.locator("#phone-state")).to_contain_text("Linked as", timeout=15_000)
    return phone
