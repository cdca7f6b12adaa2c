"""The web console in a real browser: headless Chromium (Debian's `chromium`, /usr/bin/chromium; CHROMIUM sets
another) driven by Playwright for Python, against the shared running product. One browser, one test walking
the stories a person would, each console in a context of its own (buyer, seller, admin):

- a buyer registers (a hostile name first: the API's message shows beside the field, as text), verifies its
  email from the mailed link, buys a number, watches the order finish and routes the number to the exchange;
- a seller creates a bid profile with terms, sees a live auction appear and wins it;
- a live call through the Twilio emulator shows up in both consoles without a reload, with its recording
  playable;
- an admin finds the seller by search and suspends it: the seller's open console signs out;
- the buyer signs out, resets its password through the mailed link and signs in with the new one;
- a hostile token in a link is shown as text; no page breaks the Content-Security-Policy or scrolls sideways
  at 390 px; /api/v1 and /api/v1/docs answer.

Locators are what a person sees: labels, roles, text. A failure saves a screenshot of every open page in
out/console-failures/; `make screenshots` (CONSOLE_SCREENSHOTS=<folder>) saves the main pages too.

The runtime is shared: this test's calls come from London (GB) and its seller's profile targets GB alone, so
no other test's profile takes them and its profile takes no other test's calls (see test_live_calls.py)."""
from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ROOT
from tests.e2e.test_identity_flow import PASSWORD, wait_for

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

CALLER = "+442079460123"  # London: only this test's profile targets GB
HOSTILE = "<img src=x onerror=alert(1)>"
LIVE_SECONDS = 5_000  # live changes show within 5 seconds (the issue's bound), in milliseconds for Playwright
SIGN_OUT_SECONDS = 10_000  # a suspended user's open console signs out within 10 seconds
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is needed for the console's browser tests: apt-get install chromium "
                    "(or set CHROMIUM to a Chromium or Chrome binary)")
    return path


class Consoles:
    """The browser and its pages; every page's CSP violations, dialogs and errors, kept to be checked."""

    def __init__(self, browser, base: str):
        self.browser, self.base = browser, base
        self.pages: dict[str, object] = {}
        self.problems: list[str] = []

    def open(self, name: str, width: int = 1200):
        context = self.browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("console", lambda message: self.problems.append(f"{name}: {message.text}")
                if "Content Security Policy" in message.text or message.type == "error" and "401" not in message.text
                and "409" not in message.text and "400" not in message.text and "402" not in message.text else None)
        page.on("pageerror", lambda error: self.problems.append(f"{name}: page error {error}"))
        page.on("dialog", lambda dialog: (self.problems.append(f"{name}: a dialog ran: {dialog.message}"), dialog.dismiss()))
        page.set_default_timeout(15_000)
        self.pages[name] = page
        return page

    def shot(self, page, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)

    def save_failure(self) -> None:
        folder = ROOT / "out" / "console-failures"
        folder.mkdir(parents=True, exist_ok=True)
        for name, page in self.pages.items():
            try:
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - a page that is gone has nothing to show
                pass


@pytest.fixture(scope="module")
def consoles(product):
    base = product.base_url.removesuffix("/api/v1")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield Consoles(browser, base)
        finally:
            browser.close()


def mailed_link(product, email: str, subject: str) -> str:
    """The link of the last mail of `subject` to `email`, as `make run` prints it."""
    def find():
        lines = list(product.output)
        found = [lines[i + 1].split("link:", 1)[1].strip() for i, line in enumerate(lines[:-1])
                 if line.startswith(f"Mail to {email}: {subject}") and "link:" in lines[i + 1]]
        return found[-1] if found else None
    return wait_for(find, 15)


def fields_message(page, label: str) -> str:
    """The text of what the field labelled `label` is described by (aria-describedby)."""
    control = page.get_by_label(label, exact=True)
    ids = (control.get_attribute("aria-describedby") or "").split()
    return " ".join(page.locator(f"[id='{i}']").inner_text() for i in ids)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"


def sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/")
    form = page.get_by_role("form", name="Sign in")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()


def test_the_console_stories_in_a_browser(product, consoles):
    try:
        walk(product, consoles)
    except BaseException:
        consoles.save_failure()
        raise
    assert consoles.problems == []


def walk(product, consoles: Consoles) -> None:
    base = consoles.base
    admin_token = product.login(ADMIN_EMAIL, ADMIN_PASSWORD)["tokens"]["access_token"]
    tag = uuid.uuid4().hex[:8]
    buyer_email, seller_email = f"buyer-{tag}@example.com", f"seller-{tag}@example.com"

    # The front door: an index, and the interactive reference under the same CSP.
    index = requests.get(product.url(""), timeout=30).json()["data"]
    assert index["docs"].endswith("/api/v1/docs") and index["console"].endswith("/")
    config = requests.get(product.url("/config"), timeout=30).json()["data"]
    assert config["websocket_url"].startswith("ws://127.0.0.1:")
    page_answer = requests.get(f"{base}/", timeout=30)
    csp = page_answer.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "unsafe" not in csp and f"connect-src 'self' {config['websocket_url']};" in csp

    # --- a buyer registers: a hostile name first, refused beside its field, shown as text ---------------------
    buyer = consoles.open("buyer", width=390)
    buyer.goto(f"{base}/")
    consoles.shot(buyer, "welcome")
    no_sideways_scroll(buyer)
    register = buyer.get_by_role("form", name="Create an account")
    body = {"first_name": HOSTILE, "last_name": "Lovelace", "company": "Engines Ltd", "email": buyer_email,
            "password": PASSWORD, "account_type": "buyer", "accept_terms": True}
    register.get_by_label("First name").fill(HOSTILE)
    register.get_by_label("Last name").fill("Lovelace")
    register.get_by_label("Company").fill("Engines Ltd")
    register.get_by_label("Email").fill(buyer_email)
    register.get_by_label("Password").fill(PASSWORD)
    register.get_by_label("Account type").select_option("buyer")
    register.get_by_label("I accept the terms").check()
    register.get_by_role("button", name="Create account").click()
    refused = requests.post(product.url("/auth/register"), json=body, timeout=30).json()["error"]
    [problem] = [d for d in refused["details"] if d["field"] == "first_name"]
    expect(register.get_by_label("First name")).to_have_attribute("aria-invalid", "true")
    assert fields_message(register, "First name") == problem["message"]  # the API's words, verbatim
    assert buyer.locator("img").count() == 0
    register.get_by_label("First name").fill("Ada")
    register.get_by_role("button", name="Create account").click()
    expect(buyer.get_by_role("heading", name="Overview")).to_be_visible()
    expect(buyer.get_by_text("Live", exact=True)).to_be_visible(timeout=LIVE_SECONDS)

    # ... verifies its email from the mailed link (the page finishes the flow) ...
    buyer.goto(mailed_link(product, buyer_email, "Verify your email address"))
    expect(buyer.get_by_text(f"Your email address {buyer_email} is verified.")).to_be_visible()
    # ... and a hostile token in a link is text, never markup.
    buyer.goto(f"{base}/verify-email?token={HOSTILE}")
    expect(buyer.get_by_text("This link did not verify your email:")).to_be_visible()
    assert buyer.locator("img").count() == 0

    # --- the admin signs in, finds the buyer by search, credits it with an idempotency key -------------------
    admin = consoles.open("admin")
    sign_in(admin, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(admin.get_by_role("heading", name="Users")).to_be_visible()
    search = admin.get_by_role("form", name="Search users")
    search.get_by_label("Email or name").fill(buyer_email)
    search.get_by_role("button", name="Search").click()
    admin.get_by_role("button", name=f"Manage {buyer_email}").click()
    credit = admin.get_by_role("form", name=f"Credit {buyer_email}")
    credit.get_by_label("Amount ($)").fill("20.00")
    credit.get_by_label("Reason").fill("Welcome credit")
    credit.get_by_role("button", name="Credit").click()
    expect(admin.get_by_text("Credited", exact=False).first).to_be_visible()
    consoles.shot(admin, "admin-users")

    # --- the buyer buys a number and watches the order finish, then routes it to the exchange ---------------
    buyer.goto(f"{base}/#numbers")
    find = buyer.get_by_role("form", name="Find numbers")
    find.get_by_label("Area code").fill("415")
    find.get_by_role("button", name="Search").click()
    buy = buyer.get_by_role("button", name=re.compile(r"^Buy \+1415")).first
    number = buy.get_attribute("aria-label").removeprefix("Buy ")
    buy.click()
    expect(buyer.get_by_text(re.compile(rf"Order .* for \{number}: COMPLETED"))).to_be_visible()
    buyer.get_by_role("button", name=f"Route {number} to the exchange").click()
    expect(buyer.get_by_role("cell", name="the exchange")).to_be_visible()
    no_sideways_scroll(buyer)
    consoles.shot(buyer, "buyer-numbers")

    # --- a seller signs in and creates a profile with terms -------------------------------------------------
    registered = requests.post(product.url("/auth/register"), timeout=30, json={
        "email": seller_email, "password": PASSWORD, "first_name": "Grace", "last_name": "Hopper",
        "company": "Cobol Solar", "account_type": "seller", "accept_terms": True})
    assert registered.status_code == 201, registered.text
    seller_id = registered.json()["data"]["user"]["id"]
    funded = product.call("POST", f"/admin/users/{seller_id}/credits", token=admin_token, json={
        "amount": "50.00", "reason": "e2e funds"}, headers={"Idempotency-Key": f"console-{tag}"})
    assert funded.status_code == 201, funded.text
    seller = consoles.open("seller")
    sign_in(seller, base, seller_email, PASSWORD)
    expect(seller.get_by_role("heading", name="Overview")).to_be_visible()
    seller.get_by_role("link", name="Bid profiles").click()
    seller.get_by_role("button", name="New bid profile").click()
    profile = seller.get_by_role("form", name="New bid profile")
    profile.get_by_label("Countries (comma separated)").fill("GB")
    profile.get_by_label("Call types (comma separated)").fill("sales")
    profile.get_by_label("Daily budget ($)").fill("100.00")
    profile.get_by_label("Bid for a call routed at once ($)").fill("5.00")
    profile.get_by_label("Destination number (E.164)").fill("not a number")
    profile.get_by_label("Record calls").check()
    profile.get_by_label("Calls at once").fill("3")
    profile.get_by_label("Calls per day").fill("50")
    profile.get_by_label("Blocked callers (numbers or prefixes, comma separated)").fill("+1900")
    profile.get_by_role("button", name="Create the profile").click()
    # The API's message for the field, beside it.
    expect(profile.get_by_label("Destination number (E.164)")).to_have_attribute("aria-invalid", "true")
    assert fields_message(profile, "Destination number (E.164)")
    profile.get_by_label("Destination number (E.164)").fill("+13125552671")
    profile.get_by_role("button", name="Create the profile").click()
    expect(seller.get_by_role("cell", name="+13125552671")).to_be_visible()
    consoles.shot(seller, "seller-profiles")

    # --- a live auction appears in the seller's console; it bids and wins ------------------------------------
    seller.get_by_role("link", name="Auctions").click()
    expect(seller.get_by_text("No open auction matches your profiles right now.")).to_be_visible()
    buyer_token = product.login(buyer_email, PASSWORD)["tokens"]["access_token"]
    call = product.call("POST", "/calls", token=buyer_token, json={
        "from_number": CALLER, "to_number": number, "direction": "inbound", "call_type": "sales"})
    assert call.status_code == 201, call.text
    auction = product.call("POST", "/auctions", token=buyer_token, json={
        "call_id": call.json()["data"]["id"], "reserve_price": "2.00", "duration": 60})
    assert auction.status_code == 201, auction.text
    auction_id = auction.json()["data"]["id"]
    bid_form = seller.get_by_role("form", name=f"Bid on auction {auction_id[:8]}")
    expect(bid_form).to_be_visible(timeout=LIVE_SECONDS)  # no reload: the WebSocket said so
    bid_form.get_by_label(re.compile("Bid amount")).fill("4.50")
    bid_form.get_by_role("button", name="Place bid").click()
    expect(seller.get_by_role("cell", name="$4.50")).to_be_visible(timeout=LIVE_SECONDS)
    consoles.shot(seller, "seller-auctions")
    closed = product.call("POST", f"/auctions/{auction_id}/complete", token=buyer_token)
    assert closed.json()["data"]["winning_bid"]["amount"] == "4.50", closed.text
    expect(seller.get_by_text(f"Won: auction {auction_id[:8]}", exact=False)).to_be_visible(timeout=LIVE_SECONDS)

    # --- a live call shows up in both consoles, its recording playable ---------------------------------------
    buyer.goto(f"{base}/#calls")
    seller.get_by_role("link", name="Calls").click()
    expect(buyer.get_by_role("heading", name="Calls")).to_be_visible()
    expect(seller.get_by_role("heading", name="Calls")).to_be_visible()
    emulator = product.runtime.printed("Twilio emulator")
    placed = requests.post(f"{emulator}/simulator/calls", timeout=60,
                           json={"from": CALLER, "to": number, "talk_seconds": 95})
    assert placed.json()["status"] == "completed", placed.text
    for page in (buyer, seller):
        expect(page.get_by_role("cell", name="twilio").first).to_be_visible(timeout=LIVE_SECONDS)
    buyer.get_by_role("button", name=re.compile(f"^Details of the call from \\{CALLER}")).first.click()
    buyer.get_by_role("button", name="Load the recording").click()
    audio = buyer.get_by_label(f"Recording of the call from {CALLER}")
    seconds = audio.evaluate("a => new Promise((done, failed) => a.readyState >= 1 ? done(a.duration) : "
                             "(a.onloadedmetadata = () => done(a.duration), a.onerror = () => failed('cannot play')))")
    assert seconds > 0
    no_sideways_scroll(buyer)
    consoles.shot(buyer, "buyer-calls")

    # --- the admin suspends the seller: the seller's open console signs out ----------------------------------
    search.get_by_label("Email or name").fill(seller_email)
    search.get_by_role("button", name="Search").click()
    admin.get_by_role("button", name=f"Manage {seller_email}").click()
    suspend = admin.get_by_role("form", name=f"Suspend {seller_email}")
    suspend.get_by_label("Reason").fill("Chargebacks under review")
    suspend.get_by_label("Days (empty: until reactivated)").fill("7")
    suspend.get_by_role("button", name="Suspend").click()
    expect(seller.get_by_role("alert").filter(has_text="You were signed out")).to_be_visible(timeout=SIGN_OUT_SECONDS)
    expect(seller.get_by_role("form", name="Sign in")).to_be_visible()
    admin.get_by_role("link", name="Ledger").click()
    expect(admin.get_by_role("definition").filter(has_text="yes").first).to_be_visible()
    consoles.shot(admin, "admin-ledger")

    # --- the buyer signs out (the session is revoked at the API) and resets its password by mail -------------
    refresh_token = buyer.evaluate("sessionStorage.getItem('callx.refresh')")
    buyer.get_by_role("button", name="Sign out").click()
    expect(buyer.get_by_role("form", name="Sign in")).to_be_visible()
    assert buyer.evaluate("sessionStorage.getItem('callx.refresh')") is None
    revoked = product.call("POST", "/auth/refresh", json={"refresh_token": refresh_token})
    assert revoked.status_code == 401, revoked.text  # signed out at the API, not only in the page
    forgot = buyer.get_by_role("form", name="Forgot your password?")
    forgot.get_by_label("Email").fill(buyer_email)
    forgot.get_by_role("button", name="Mail me a reset link").click()
    expect(forgot.get_by_text("reset link is on its way", exact=False)).to_be_visible()
    buyer.goto(mailed_link(product, buyer_email, "Reset your password"))
    buyer.get_by_label("New password", exact=True).fill("An0ther!Passw0rd")
    buyer.get_by_role("button", name="Set the new password").click()
    expect(buyer.get_by_text("Your password is changed.", exact=False)).to_be_visible()
    sign_in(buyer, base, buyer_email, "An0ther!Passw0rd")
    expect(buyer.get_by_role("heading", name="Overview")).to_be_visible()
    expect(buyer.get_by_role("img", name=re.compile("calls and \\$.* earnings over the last 30 days"))).to_be_visible()
    expect(buyer.get_by_text("Earnings available")).to_be_visible()
    consoles.shot(buyer, "buyer-overview")

    # --- the API reference, within the same CSP ---------------------------------------------------------------
    docs = consoles.open("docs")
    docs.goto(product.url("/docs"))
    expect(docs.get_by_text("/auth/register").first).to_be_visible()
    consoles.shot(docs, "api-reference")
