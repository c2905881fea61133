"""Sign in to a running portal and read its forms, for the load benchmark.

    python bench/login.py http://127.0.0.1:8801 patient@example.com
prints the Cookie header value of a signed-in session (answering the staff
two-step sign-in with pyotp when the account has a TOTP secret).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import pyotp
import requests

DEMO_PASSWORD = "holistiq-demo-2026"  # published demo password (README)
DEMO_TOTP_SECRET = "HOLISTIQDEMOSTAFFTOTPSECRET23456"  # published demo staff secret (portal/demo/accounts.py)


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    # name -> [(value, checked)] for radio buttons and checkboxes
    choices: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    selects: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    submit_names: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> set[str]:
        return {n for n, _ in self.fields} | set(self.choices) | set(self.selects)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=(a.get("method") or "get").upper())
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("radio", "checkbox"):
                form.choices.setdefault(name, []).append((a.get("value", "on"), "checked" in a))
            elif kind == "submit":
                form.submit_names.append((name, a.get("value", "")))
            else:
                form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            form.selects[name] = []
        elif tag == "option" and self._select:
            form.selects[self._select].append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []
        elif tag == "button" and name:
            form.submit_names.append((name, a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea and self._form is not None:
            self._form.fields.append((self._textarea, "".join(self._text)))
            self._textarea = None


def parse_forms(html: str, base_url: str) -> list[Form]:
    """Every form on the page, actions made absolute."""
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.action = urljoin(base_url, form.action or "")
    return parser.forms


def find_form(forms: list[Form], *, field_name: str | None = None, action_contains: str | None = None) -> Form:
    for form in forms:
        if form.method != "POST":
            continue
        if field_name and field_name not in form.names():
            continue
        if action_contains and action_contains not in form.action:
            continue
        return form
    raise LookupError(f"no POST form with field={field_name!r} action~{action_contains!r}")


def login(base_url: str, email: str, password: str = DEMO_PASSWORD, totp_secret: str | None = None) -> requests.Session:
    """A requests session signed in as ``email`` (two-step sign-in answered when asked)."""
    s = requests.Session()
    page = s.get(f"{base_url}/login", timeout=30)
    form = find_form(parse_forms(page.text, page.url), field_name="password")
    data = dict(form.fields) | {"email": email, "password": password}
    reply = s.post(form.action, data=data, timeout=30)
    forms = parse_forms(reply.text, reply.url)
    try:
        code_form = find_form(forms, field_name="code")
    except LookupError:
        code_form = None
    if code_form is not None:
        # Staff step two: a TOTP code from the shared demo secret.
        code = pyotp.TOTP(totp_secret or DEMO_TOTP_SECRET).now()
        reply = s.post(code_form.action, data=dict(code_form.fields) | {"code": code}, timeout=30)
    if "/login" in reply.url or not reply.ok:
        raise RuntimeError(f"sign-in as {email} failed: {reply.status_code} at {reply.url}")
    return s


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def api_token(base_url: str, email: str, password: str = DEMO_PASSWORD, totp_secret: str | None = None) -> str:
    """An API access token for ``email`` (POST /api/v1/auth/token; staff send the two-step code).

    Tried without a code, then with this window's code, then with the next window's: a code is accepted
    once, and the web sign-in may just have used this window's.
    """
    totp = pyotp.TOTP(totp_secret or DEMO_TOTP_SECRET)
    body: dict = {"email": email, "password": password}
    for attempt in range(3):
        reply = requests.post(f"{base_url}/api/v1/auth/token", json=body, timeout=30)
        if reply.status_code == 201:
            return reply.json()["access_token"]
        if reply.status_code != 401:
            break
        if attempt == 1:
            time.sleep(totp.interval - time.time() % totp.interval + 1)
        body["code"] = totp.now()
    raise RuntimeError(f"API sign-in as {email} failed: {reply.status_code} {reply.text[:200]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base_url")
    ap.add_argument("email")
    ap.add_argument("--password", default=DEMO_PASSWORD)
    ap.add_argument("--totp-secret", default=None)
    args = ap.parse_args(argv)
    print(cookie_header(login(args.base_url.rstrip("/"), args.email, args.password, args.totp_secret)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
