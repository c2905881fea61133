"""Phone notifications at 360 px in Chromium, with the "notifications" permission granted: "Turn on phone
notifications" asks, registers the service worker and subscribes; the device is listed; "Send a test notification"
(a plain form) reaches the local push service (tests/push_server.py), which verifies the VAPID signature and
decrypts the payload. The service worker shows a pushed notification and keeps its link on the portal.

Headless Chromium cannot subscribe for real: PushManager.subscribe needs the browser's own push service (Google's
FCM), which is not reachable offline, and it refuses. The test then stores a subscription of the local push
service through the same route and header the page uses (POST /me/push-subscriptions, X-CSRFToken), from the
page itself; everything on the server side is real.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from portal import outbox
from portal.auth.models import User
from portal.extensions import db
from portal.push import PushSubscription, application_server_key
from tests.e2e.conftest import log_in, open_menu, submit
from tests.push_server import start_push_service

pytestmark = pytest.mark.e2e

EMAIL = "patient@example.com"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, permissions=["notifications"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _worker_round(app) -> None:
    with app.app_context():
        outbox.deliver_due()
        db.session.remove()


def test_turn_on_phone_notifications_and_send_a_test(phone, live_server):
    app = live_server.app
    service = start_push_service(application_server_key(app))
    saved = app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"]
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    try:
        log_in(phone, live_server, EMAIL)
        phone.goto(f"{live_server}/account#reminders")
        expect(phone.get_by_role("heading", name="Reminders")).to_be_visible()
        button = phone.get_by_role("button", name="Turn on phone notifications")
        expect(button).to_be_visible()
        assert phone.evaluate("Notification.permission") == "granted"

        button.click()
        # The service worker is registered for the whole site whatever the push service says.
        scope = phone.evaluate(
            "navigator.serviceWorker.ready.then(function (registration) { return registration.scope; })"
        )
        assert scope == f"{live_server}/"
        status = phone.locator("[data-push-status]")
        expect(status).not_to_have_text("Asking this browser…")
        subscribed = phone.evaluate(
            "navigator.serviceWorker.ready.then(function (r) { return r.pushManager.getSubscription(); })"
            ".then(function (s) { return s ? s.toJSON() : null; })"
        )
        # Offline, Chromium's push service (FCM) cannot be reached: no subscription, and the page says so in words.
        assert subscribed is None, "Chromium subscribed with its own push service; this test expects it offline"
        expect(status).to_have_text("Notifications could not be turned on in this browser. Please try again later.")
        # The subscription a browser would have made, stored as the page stores it.
        assert _store(phone, service.subscription()) == 201
        phone.reload()
        expect(phone.get_by_role("button", name="Send a test notification")).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360

        submit(phone, phone.get_by_role("button", name="Send a test notification"))
        expect(phone.get_by_text("We sent a test notification to that device.")).to_be_visible()
        [got] = service.wait_for(1, poll=lambda: _worker_round(app))
        assert got.vapid_ok and got.headers["content-encoding"] == "aes128gcm"
        assert (
            got.payload["body"]
            == "This is a test notification. Notifications from the portal will come to this device."
        )
        assert got.payload["url"] == f"{live_server}/account"

        submit(phone, phone.get_by_role("button", name="Turn off"))
        expect(phone.get_by_text("Notifications are off on that device.")).to_be_visible()
        expect(phone.get_by_role("button", name="Send a test notification")).to_have_count(0)
    finally:
        app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = saved
        service.server.shutdown()
        service.server.server_close()


# The waits end as soon as the worker answers; their limit only bounds a loaded machine (two test workers
# beside other jobs on 2 CPUs took over 10 s to register the worker once).
WORKER_WAIT_S = 30


def test_the_service_worker_shows_a_push_and_keeps_its_link_on_the_portal(phone, live_server):
    log_in(phone, live_server, EMAIL)
    phone.goto(f"{live_server}/account")
    cdp = phone.context.new_cdp_session(phone)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    phone.evaluate("navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => navigator.serviceWorker.ready)")
    deadline = time.monotonic() + WORKER_WAIT_S
    while not [r for r in registrations if r["scopeURL"] == f"{live_server}/"] and time.monotonic() < deadline:
        phone.wait_for_timeout(100)
    [registration] = [r for r in registrations if r["scopeURL"] == f"{live_server}/"][:1]
    pushes = [
        {"title": "Holistiq Coach", "body": "Time for your back plan", "url": f"{live_server}/me/"},
        {"title": "Holistiq Coach", "body": "Somewhere else", "url": "https://elsewhere.example/phish"},
    ]
    for data in pushes:
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": live_server.url, "registrationId": registration["registrationId"], "data": json.dumps(data)},
        )
    shown: list = []
    deadline = time.monotonic() + WORKER_WAIT_S
    while len(shown) < 2 and time.monotonic() < deadline:
        shown = phone.evaluate(
            "navigator.serviceWorker.ready.then((r) => r.getNotifications())"
            ".then((list) => list.map((n) => ({title: n.title, body: n.body, url: n.data.url})))"
        )
        phone.wait_for_timeout(100)
    by_body = {n["body"]: n for n in shown}
    assert by_body["Time for your back plan"] == {
        "title": "Holistiq Coach",
        "body": "Time for your back plan",
        "url": f"{live_server}/me/",
    }
    # A link off the portal is never opened: a tap goes to the portal's home page instead.
    assert by_body["Somewhere else"]["url"] == f"{live_server}/"


# Headless Chromium holds no real subscription (see above): the browser's own PushManager answers with the local
# push service's subscription instead, and records in localStorage when the page unsubscribes it.
FAKE_BROWSER_SUBSCRIPTION = """
(() => {
  if (typeof window === "undefined" || !("PushManager" in window)) { return; }
  const sub = %s;
  PushManager.prototype.getSubscription = function () {
    if (window.localStorage.getItem("push-unsubscribed")) { return Promise.resolve(null); }
    return Promise.resolve({
      endpoint: sub.endpoint,
      toJSON: () => sub,
      unsubscribe: () => { window.localStorage.setItem("push-unsubscribed", "1"); return Promise.resolve(true); },
    });
  };
})();
"""


def _store(page, subscription: dict) -> int:
    return page.evaluate(
        """(sub) => {
          const box = document.getElementById("push-setup");
          return fetch(box.dataset.subscribeUrl, {
            method: "POST", credentials: "same-origin",
            headers: {"Content-Type": "application/json", "Accept": "application/json",
                      "X-CSRFToken": box.dataset.csrf},
            body: JSON.stringify(sub),
          }).then((r) => r.status);
        }""",
        subscription,
    )


def _endpoints(app) -> list[str]:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        found = db.session.scalars(
            db.select(PushSubscription.endpoint).where(PushSubscription.user_id == user.id)
        ).all()
        db.session.remove()
        return sorted(found)


def test_this_browser_is_marked_and_turning_off_or_logging_out_unsubscribes_it(browser, live_server):
    app = live_server.app
    service = start_push_service(application_server_key(app))
    this_browser, other_device = service.subscription(), service.subscription()
    saved = app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"]
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    context = browser.new_context(viewport={"width": 360, "height": 740}, permissions=["notifications"])
    context.set_default_timeout(10_000)
    context.add_init_script(FAKE_BROWSER_SUBSCRIPTION % json.dumps(this_browser))
    page = context.new_page()
    try:
        log_in(page, live_server, EMAIL)
        page.goto(f"{live_server}/account#reminders")
        page.evaluate("navigator.serviceWorker.register('/sw.js', {scope: '/'}).then(() => true)")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        assert _store(page, other_device) == 201 and _store(page, this_browser) == 201
        page.reload()

        # This browser's subscription is among the devices: marked, and not offered again.
        expect(page.locator("[data-push-endpoint]")).to_have_count(2)
        here = page.locator(f'[data-push-endpoint="{this_browser["endpoint"]}"]')
        expect(here.get_by_text("This browser", exact=True)).to_be_visible()
        expect(page.get_by_text("This browser", exact=True)).to_have_count(2)  # the other's badge stays hidden
        other = page.locator(f'[data-push-endpoint="{other_device["endpoint"]}"]')
        expect(other.get_by_text("This browser", exact=True)).to_be_hidden()
        expect(page.locator("[data-push-status]")).to_have_text("Notifications are on in this browser.")
        expect(page.get_by_role("button", name="Turn on phone notifications")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        # "Turn off" on this browser: the portal forgets it and so does the browser.
        submit(page, here.get_by_role("button", name="Turn off"))
        expect(page.get_by_text("Notifications are off on that device.")).to_be_visible()
        assert page.evaluate("window.localStorage.getItem('push-unsubscribed')") == "1"
        assert _endpoints(app) == [other_device["endpoint"]]
        expect(page.get_by_role("button", name="Turn on phone notifications")).to_be_visible()

        # On again in this browser, then "Log out": the browser's subscription goes with the sign-in.
        page.evaluate("window.localStorage.removeItem('push-unsubscribed')")
        assert _store(page, this_browser) == 201
        page.reload()
        expect(here.get_by_text("This browser", exact=True)).to_be_visible()
        open_menu(page)
        submit(page, page.get_by_role("button", name="Log out"))
        expect(page.get_by_text("You have logged out.")).to_be_visible()
        assert page.evaluate("window.localStorage.getItem('push-unsubscribed')") == "1"
        assert _endpoints(app) == []  # both were turned on in this sign-in
    finally:
        context.close()
        app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = saved
        service.server.shutdown()
        service.server.server_close()
