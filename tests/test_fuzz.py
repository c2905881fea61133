"""Hostile input to every form: no 500, nothing written when rejected, stored text escaped.

The forms are not listed by hand: each role's pages are crawled (on the demo
data) and every POST form found is fuzzed with hypothesis, so a new form is
covered as soon as a page links to it. Values are huge strings, control
characters, SQL and HTML fragments, numbers out of any range, several values
for one field, and missing fields. Bounded so the suite stays quick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from portal.auth.models import User, email_lookup
from portal.extensions import db as _db
from tests.conftest import login

MAX_EXAMPLES = 6
CRAWL_LIMIT = 70
XSS = ('<script>alert("fz")</script>', '"><img src=x onerror=alert(1)>')
RAW_MARKERS = ("<script>alert(", "<img src=x onerror")
HOSTILE = (
    *XSS,
    "'; DROP TABLE user_account; --",
    "1 OR 1=1",
    "' UNION SELECT password_hash FROM user_account --",
    "\x00",
    "a\x00b\x07c\x1b[31m",
    "\u202etxt.exe",
    " ",
    "",
    "-1",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "3.5",
    "2026-02-30",
    "../../etc/passwd",
    "{{ 7*7 }}",
    "%s%s%s%n",
    "A" * 20_000,
)
# Columns a rejected sign-in is meant to touch (failure counters), and timestamps of being seen.
VOLATILE_COLUMNS = {"failed_logins", "locked_until", "last_login_at", "totp_last_step"}
SKIP_ACTIONS = ("/logout",)
SKIP_LINK_SUFFIXES = (".zip", ".json", ".csv", ".ics", ".pdf")

hostile_value = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=300),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
field_value = st.one_of(hostile_value, st.lists(hostile_value, min_size=2, max_size=3))


@dataclass
class Form:
    page: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # name -> default value
    submit: dict[str, str] = field(default_factory=dict)
    text_fields: set[str] = field(default_factory=set)

    @property
    def signature(self) -> tuple:
        return (re.sub(r"\d+", "N", self.action), tuple(sorted(self.fields)), tuple(sorted(self.submit)))


class _PageParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(urljoin(self.page, a["href"]))
        elif tag == "form":
            if (a.get("method") or "get").lower() == "post":
                self._form = Form(self.page, urlsplit(urljoin(self.page, a.get("action") or self.page)).path)
        elif self._form is not None and a.get("name"):
            name = a["name"]
            if tag == "input":
                kind = (a.get("type") or "text").lower()
                if kind == "submit":
                    self._form.submit[name] = a.get("value") or ""
                elif kind in ("checkbox", "radio"):
                    if "checked" in a or (kind == "radio" and name not in self._form.fields):
                        self._form.fields[name] = a.get("value") or "on"
                else:
                    self._form.fields[name] = a.get("value") or ""
                    if kind in ("text", "email", "search", "tel", "url"):
                        self._form.text_fields.add(name)
            elif tag == "textarea":
                self._form.fields[name] = ""
                self._form.text_fields.add(name)
            elif tag == "select":
                self._form.fields[name] = ""
                self._select = name
            elif tag == "button" and (a.get("type") or "submit") == "submit":
                self._form.submit[name] = a.get("value") or ""
        elif tag == "option" and self._form is not None and self._select:
            # The selected option, else the first one (what a browser would send).
            if "selected" in a or not self._form.fields[self._select]:
                self._form.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None


def crawl(client: FlaskClient, starts: list[str], limit: int = CRAWL_LIMIT) -> tuple[dict[str, str], list[Form]]:
    """Pages reachable by links from ``starts`` (same site), and the POST forms on them."""
    pages: dict[str, str] = {}
    forms: dict[tuple, Form] = {}
    queue = list(starts)
    seen_shapes: set[str] = set()
    while queue and len(pages) < limit:
        url = queue.pop(0)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or parts.path.startswith("/static") or url in pages:
            continue
        if parts.path in SKIP_ACTIONS or parts.path.endswith(SKIP_LINK_SUFFIXES):
            continue
        shape = re.sub(r"\d+", "N", parts.path) + ("?q" if parts.query else "")
        if shape in seen_shapes:  # one page per shape: /coach/patients/1 stands for every patient
            continue
        seen_shapes.add(shape)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.get(path)
        assert response.status_code < 500, f"GET {path} answered {response.status_code}"
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        parser = _PageParser(path)
        parser.feed(html)
        queue.extend(parser.links)
        for form in parser.forms:
            if form.action not in SKIP_ACTIONS:
                forms.setdefault(form.signature, form)
    return pages, list(forms.values())


class WriteWatcher:
    """Records the writes a request commits (audit events and sign-in counters aside).

    Cheaper and stricter than comparing table contents: an UPDATE that sets a
    column to a new value is seen even when the row count stays the same.
    """

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.committed: list[str] = []

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ARG002
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE") and not self._expected(statement):
            self.pending.append(" ".join(statement.split())[:160])

    @staticmethod
    def _expected(statement: str) -> bool:
        if "audit_event" in statement:
            return True  # refusals are audited on purpose
        # (PostgreSQL's statement casts the value: "%(last_active_at)s::TIMESTAMP WITHOUT TIME ZONE")
        if re.match(r"\s*UPDATE user_session SET last_active_at=[^,]+? WHERE user_session\.id", statement):
            return True  # the session's once-a-minute activity stamp, written before the view runs
        match = re.match(r"\s*UPDATE user_account SET (.+?) WHERE", statement, re.S)
        if match:
            columns = {part.split("=")[0].strip() for part in match.group(1).split(",")}
            return columns <= VOLATILE_COLUMNS
        return False

    def _commit(self, conn) -> None:  # noqa: ARG002
        self.committed.extend(self.pending)
        self.pending.clear()

    def _rollback(self, conn) -> None:  # noqa: ARG002
        self.pending.clear()

    def __enter__(self) -> WriteWatcher:
        engine = _db.engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        return self

    def __exit__(self, *exc) -> None:
        engine = _db.engine
        event.remove(engine, "before_cursor_execute", self._statement)
        event.remove(engine, "commit", self._commit)
        event.remove(engine, "rollback", self._rollback)


def assert_escaped(html: str, where: str) -> None:
    for marker in RAW_MARKERS:
        assert marker not in html, f"unescaped user text on {where}"


# Posted to every field of every form, every run: the hostile classes that matter most.
EVERY_RUN = ("\x00", XSS[0], "A" * 20_000, "' OR 1=1 --", "-1", ["1", "2"])


def _post_and_check(client: FlaskClient, form: Form, token: str, values: dict) -> None:
    payload = {"csrf_token": token, **form.submit, **values}
    with WriteWatcher() as writes:
        response = client.post(form.action, data=payload)
    where = f"POST {form.action} (form on {form.page}) with {sorted(values)}"
    assert response.status_code < 500, f"{where} answered {response.status_code}"
    if response.status_code >= 400:
        assert not writes.committed, f"{where} was refused ({response.status_code}) but stored {writes.committed}"
        return
    assert_escaped(response.get_data(as_text=True), where)
    if response.status_code in (301, 302, 303) and response.headers["Location"].startswith("/"):
        target = response.headers["Location"]
        followed = client.get(target)
        assert followed.status_code < 500
        assert_escaped(followed.get_data(as_text=True), target)


def fuzz_form(client: FlaskClient, form: Form) -> None:
    token = form.fields.get("csrf_token", "")
    names = sorted(n for n in form.fields if n != "csrf_token")
    if not names:
        return  # a button-only form (an action): covered by the authorization matrix
    for value in EVERY_RUN:
        _post_and_check(client, form, token, dict.fromkeys(names, value))

    # derandomize: the same examples on every run, so CI never flakes on a lucky draw.
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(values=st.fixed_dictionaries({}, optional={name: field_value for name in names}))
    def check(values: dict) -> None:
        _post_and_check(client, form, token, values)

    check()


def _stored_xss(client: FlaskClient, form: Form) -> None:
    """Valid defaults with script in every text field: if stored, it must come back escaped."""
    payload = {**form.fields, **form.submit}
    for name in form.text_fields:
        payload[name] = XSS[0] if "email" not in name else payload[name]
    response = client.post(form.action, data=payload)
    assert response.status_code < 500
    assert_escaped(response.get_data(as_text=True), form.action)


@pytest.fixture
def demo_world(app, db):
    from portal.demo import run_all

    run_all()
    return {
        email: db.session.scalar(email_lookup(email))
        for email in ("patient@example.com", "coach@example.com", "admin@example.com")
    }


def _signed_in(app, user: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, user, app.config["DEMO_PASSWORD"]).status_code == 302
    return client


EXPECTED_FORMS = {
    "patient@example.com": {"/account", "/me/checkin", "/messages/"},
    "coach@example.com": {"/account"},
    "admin@example.com": {"/admin/accounts/new", "/admin/clinics/new"},
}


@pytest.mark.parametrize("email", sorted(EXPECTED_FORMS))
def test_every_form_survives_hostile_input(app, demo_world, email):
    user = demo_world[email]
    client = _signed_in(app, user)
    starts = ["/", "/account", *[f"/{p}" for p in ("me/", "coach/", "admin/accounts", "messages/", "library/")]]
    pages, forms = crawl(client, starts)
    actions = {f.action for f in forms}
    assert EXPECTED_FORMS[email] <= actions, f"crawl missed forms: {EXPECTED_FORMS[email] - actions}"
    print(f"{email}: {len(pages)} pages, fuzzing {len(forms)} forms: {sorted(actions)}")
    for form in forms:
        fuzz_form(client, form)
    for form in forms:
        if form.text_fields:
            _stored_xss(client, form)
    # Whatever was stored along the way is shown escaped on every page.
    pages, _ = crawl(client, starts)
    for path, html in pages.items():
        assert_escaped(html, path)


def test_public_forms_survive_hostile_input(app, demo_world, client):
    pages, forms = crawl(client, ["/login", "/password/forgot"])
    assert {"/login", "/password/forgot"} <= {f.action for f in forms}
    for form in forms:
        fuzz_form(client, form)


@pytest.mark.parametrize("path", ["/login", "/me/checkin", "/messages/", "/account"])
def test_bodies_over_the_limit_get_413(app, patient_client, path):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = patient_client.post(path, data={"notes": "x" * (limit + 1)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True).lower()


def test_the_write_watcher_sees_committed_writes_only(patient_client, patient):
    from tests.conftest import csrf_token

    token = csrf_token(patient_client, "/account")
    with WriteWatcher() as saved:
        patient_client.post(
            "/account", data={"prefs-submit": "Save preferences", "csrf_token": token}
        )  # unticked: notifications off, a real change
    assert any(s.startswith("UPDATE user_account") for s in saved.committed)
    with WriteWatcher() as refused:
        response = patient_client.post(
            "/account", data={"prefs-reminder_time": "25:99", "prefs-submit": "Save preferences", "csrf_token": token}
        )
    assert response.status_code == 400
    assert refused.committed == []


# --- URL parameters and path ids of every route ------------------------------

HOSTILE_IDS = ("0", "2147483647", "2147483648", "9223372036854775808", "99999999999999999999999", "9" * 5000)
HOSTILE_PATH_TEXT = ("9999-12-31", "0001-01-01", "2026-02-30", "%00", "%0d%0a", "..%2f..%2fetc", "A" * 3000, "-1")
HOSTILE_NUMBERS = ("99999999999999999999999", "2147483648", "-1", "0", "1e309", "abc", "%00", "９")
HOSTILE_DATES = ("9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "-5", "9" * 400)
# Every query parameter a view reads, each with what it must survive.
HOSTILE_QUERIES = {
    "page": HOSTILE_NUMBERS,
    "days": HOSTILE_NUMBERS,
    "date_from": HOSTILE_DATES,
    "date_to": HOSTILE_DATES,
    "at": ("24:00", "99999999999999999999:00", "%0d%0a", "-1"),
    "sort": ("%00", "A" * 3000, "__class__"),
    "show": ("%00", "A" * 3000),
    "q": ("%00", "%0d%0a", "A" * 3000, "%25%25"),
    "kind": ("%00", "A" * 3000, "surgery"),
    "area": ("%00", "elbow"),
    "role": ("%00", "superuser"),
    "next": ("//evil.example", "%0d%0aSet-Cookie:x=1", "javascript:alert(1)"),
    "token": ("A" * 3000, "%00"),
}


def _hostile_paths(app) -> list[str]:
    """Every GET route, each path argument replaced by hostile values (its converter decides which)."""
    paths = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.arguments or rule.endpoint == "static":
            continue
        kinds = {name: type(conv).__name__ for name, conv in rule._converters.items()}
        numeric = all("Int" in kind for kind in kinds.values())
        for value in HOSTILE_IDS if numeric else HOSTILE_PATH_TEXT:
            path = rule.rule
            for name in rule.arguments:
                path = re.sub(rf"<(?:[^:>]+:)?{name}>", value, path)
            paths.add(path)
    return sorted(paths)


def _hostile_query_urls(paths: list[str]) -> list[str]:
    """Each path with every hostile query parameter at once, one value of each per URL (bounded runs)."""
    rounds = max(len(values) for values in HOSTILE_QUERIES.values())
    urls = []
    for path in paths:
        for n in range(rounds):
            query = "&".join(f"{name}={values[n % len(values)]}" for name, values in HOSTILE_QUERIES.items())
            urls.append(f"{path}?{query}")
    return urls


@pytest.mark.parametrize("email", sorted(EXPECTED_FORMS))
def test_every_route_survives_hostile_path_ids_and_query_parameters(app, demo_world, email):
    """Huge ids, impossible dates and pages in any URL: 4xx (or a page), never a 500."""
    client = _signed_in(app, demo_world[email])
    starts = ["/", "/account", *[f"/{p}" for p in ("me/", "coach/", "admin/accounts", "messages/", "library/")]]
    pages, _ = crawl(client, starts, limit=40)
    # Real pages with real ids (a patient's page, an item) get the hostile query strings too.
    # One real path per route (ids differ, the view does not).
    by_route: dict[str, str] = {}
    for page in sorted(pages):
        path = urlsplit(page).path
        by_route.setdefault(re.sub(r"\d+", "N", path), path)
    paths = sorted({*by_route.values(), "/admin/audit", "/admin/audit.csv", "/me/plan/calendar.ics"})
    failures = []
    for url in [*_hostile_paths(app), *_hostile_query_urls(paths)]:
        status = client.get(url).status_code
        if status >= 500:
            failures.append((url[:120], status))
    assert failures == []


@pytest.mark.parametrize(
    "url",
    [
        "/coach/?page=99999999999999999999999",
        "/library/?page=99999999999999999999999",
        "/admin/accounts?page=99999999999999999999999",
        "/admin/audit?page=99999999999999999999999",
        "/messages/inbox?page=99999999999999999999999",
        "/coach/patients/99999999999999999999999",
        "/coach/patients/2147483648",
        "/library/99999999999999999999999",
        "/admin/accounts/9223372036854775808",
        "/admin/audit?date_to=9999-12-31",
        "/admin/audit.csv?date_to=9999-12-31",
    ],
)
def test_the_reported_urls_are_4xx(app, demo_world, url):
    role = url.split("/")[1]
    email = {"admin": "admin@example.com"}.get(role, "coach@example.com")
    status = _signed_in(app, demo_world[email]).get(url).status_code
    assert 400 <= status < 500, (url, status)
