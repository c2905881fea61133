"""Shared fixtures: app, database, clients per role and data factories.

The suite runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL
points at one: each run then creates its own database and drops it at the end.
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import time

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from hypothesis import Phase, settings
from sqlalchemy import event, update

from config import TestingConfig
from portal.app import create_app
from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role, User
from portal.care import checkin_weeks
from portal.care.consent import KINDS as CONSENT_KINDS
from portal.care.consent import current_version, starter_texts
from portal.care.onboarding_models import Consent, ConsentText
from portal.extensions import db as _db
from portal.extensions import limiter
from portal.state import portal_state
from tests.dbutil import create_postgres_database, drop_postgres_database, is_postgres
from tests.media_support import media_backend, s3_endpoint  # noqa: F401 - fixtures for every test module

PASSWORD = "correct-horse-battery-42"
# Staff made by `make_user` are enrolled in two-step sign-in with this authenticator secret;
# `login()` answers the code step with it. Pass totp_enabled=False for a staff member not yet enrolled.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# For `make_user` in a test that sends reminders on the real clock: a patient's default quiet hours (21:00-08:00
# local) hold back every reminder for eleven hours of each day, so such a test would pass or fail by the hour it
# runs. Equal start and end mean no quiet hours.
NO_QUIET_HOURS = {"quiet_start": time(0, 0), "quiet_end": time(0, 0)}
_counter = itertools.count(1)

if "MUTANT_UNDER_TEST" in os.environ:
    # Under `make mutation` every test runs again and again, traced, on a busy machine: a slow example is no
    # failure there (no deadline), and each run draws the same examples, so a mutant dies of what it changes.
    # A failing example kills the mutant as it is: shrinking it (minutes for the ranking's property test) tells
    # mutmut nothing more.
    settings.register_profile(
        "mutation", deadline=None, derandomize=True, database=None, phases=(Phase.explicit, Phase.generate)
    )
    settings.load_profile("mutation")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    base = TestingConfig.SQLALCHEMY_DATABASE_URI
    if is_postgres(base):
        url = create_postgres_database(base)
        yield url
        drop_postgres_database(url)
    else:
        yield base


class RequestClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Tests keep an app context open (for database access); without this, Flask would run the
    client's requests inside it, sharing ``g`` (and the database session) between the test and
    every request. The test's own context stays as it was.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)  # a streamed body is read while its request's context is there
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            # The test reads what the request stored, as the next request would (its own
            # unsaved changes, if it has any, are left alone).
            session = _db.session()
            if not (session.new or session.dirty or session.deleted):
                session.expire_all()
        return response


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, SERVER_NAME="localhost")
    app.test_client_class = RequestClient
    with app.app_context():
        _db.create_all()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


# Under `make mutation` (mutmut sets MUTANT_UNDER_TEST) each test starts with no kept statements.
# An app keeps the statements it builds (portal.sqlutil.KeptStatement). mutmut first records which tests
# call each function, then runs only those against its mutants: with the statements kept across tests, a
# statement's builder would be called (and recorded) by the first test that needs it only. Forgetting them
# makes every test build, and run, the statement its (mutated) code builds now, as a fresh app per test
# would, without building the app again for each test (most of a mutant's time).
@pytest.fixture(autouse=True)
def db(app: Flask) -> Iterator:
    """An app context per test, and empty tables afterwards."""
    if "MUTANT_UNDER_TEST" in os.environ:
        portal_state(app).statements.clear()
    with app.app_context():
        yield _db
        _db.session.rollback()
        _db.session.remove()
        _empty_tables()
    limiter.reset()


def _empty_tables() -> None:
    # DELETE, children first: on tables this small it is far cheaper than
    # TRUNCATE, whose fixed cost per table dominated the PostgreSQL run.
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- factories ---------------------------------------------------------------


@pytest.fixture
def make_clinic(db) -> Callable[..., Clinic]:
    def make(**kwargs) -> Clinic:
        n = next(_counter)
        values = {
            "name": f"Clinic {n}",
            "city": f"City {n}",
            "phone": f"(817) 555-01{n % 100:02d}",
            "timezone": "America/Chicago",
        }
        values.update(kwargs)
        clinic = Clinic(**values)
        db.session.add(clinic)
        db.session.commit()
        return clinic

    return make


@pytest.fixture
def clinic(make_clinic) -> Clinic:
    return make_clinic(name="Holistiq Arlington", city="Arlington", phone="(817) 555-0142")


@pytest.fixture
def make_user(db, clinic) -> Callable[..., User]:
    def make(
        role: str = Role.PATIENT,
        *,
        coach: User | None = None,
        password: str | None = PASSWORD,
        consented: bool = True,
        **kwargs,
    ) -> User:
        """An account; a patient has agreed to their clinic's consent texts unless ``consented=False``."""
        n = next(_counter)
        if role == Role.PATIENT and coach is None:
            coach = make(Role.COACH)
        if role != Role.PATIENT:
            kwargs.setdefault("totp_secret", TOTP_SECRET)
            kwargs.setdefault("totp_enabled", True)
        user = create_account(
            email=kwargs.pop("email", f"{role}{n}@example.org"),
            name=kwargs.pop("name", f"{role.capitalize()} Person {n}"),
            role=role,
            clinic_id=kwargs.pop("clinic_id", clinic.id),
            coach_id=coach.id if coach else None,
            password=password,
        )
        for key, value in kwargs.items():
            setattr(user, key, value)
        if role == Role.PATIENT and consented and user.clinic_id is not None:
            give_test_consent(user)
        db.session.commit()
        return user

    return make


def publish_test_consent_texts(clinic_id: int) -> int:
    """The starter consent texts as the clinic's next version (no audit event: tests count those); returns it."""
    version = (current_version(clinic_id) or 0) + 1
    for (kind, locale), body in starter_texts().items():
        _db.session.add(ConsentText(clinic_id=clinic_id, version=version, kind=kind, locale=locale, body=body))
    _db.session.flush()
    return version


def give_test_consent(patient: User) -> None:
    """The patient has agreed to the newest consent texts of their clinic (published here when there are none)."""
    version = current_version(patient.clinic_id) or publish_test_consent_texts(patient.clinic_id)
    for kind in CONSENT_KINDS:
        _db.session.add(
            Consent(patient_id=patient.id, clinic_id=patient.clinic_id, kind=kind, version=version, language="en")
        )
    _db.session.flush()


@pytest.fixture
def coach(make_user) -> User:
    return make_user(Role.COACH, name="Casey Coach", email="casey.coach@example.org")


@pytest.fixture
def patient(make_user, coach) -> User:
    return make_user(Role.PATIENT, coach=coach, name="Pat Patient", email="pat.patient@example.org")


@pytest.fixture
def two_patients(make_user, coach) -> tuple[User, User]:
    """Two patients of one coach, in the practice's zone: every aggregate rule is tested with two."""
    return make_user(Role.PATIENT, coach=coach), make_user(Role.PATIENT, coach=coach)


@pytest.fixture
def admin(make_user) -> User:
    return make_user(Role.ADMIN, name="Ada Admin", email="ada.admin@example.org")


def login(client: FlaskClient, user: User, password: str = PASSWORD):
    """Sign in through the real login form (CSRF is on, like in production).

    When the password step hands over to the two-step code, answer it with the
    user's authenticator secret and return the response of that step.
    """
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    if response.status_code == 302 and response.headers["Location"].endswith("/login/two-factor"):
        response = answer_two_factor(client, user)
    return response


def totp_code(user: User) -> str:
    """A fresh authenticator code for the user (clearing the used-code marker, see below)."""
    import pyotp

    # A code works once; tests sign the same user in several times within 30 seconds.
    _db.session.execute(update(User).where(User.id == user.id).values(totp_last_step=None))
    _db.session.commit()
    return pyotp.TOTP(user.totp_secret).now()


def answer_two_factor(client: FlaskClient, user: User):
    token = csrf_token(client, "/login/two-factor")
    return client.post("/login/two-factor", data={"code": totp_code(user), "csrf_token": token})


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token from the form on ``path``."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def change_password(client: FlaskClient, current: str, new: str, *, token: str | None = None):
    """The account page's "Change password" form, posted as the browser would (a fresh CSRF token unless given)."""
    return client.post(
        "/account",
        data={
            "pw-current_password": current,
            "pw-password": new,
            "pw-confirm": new,
            "pw-submit": "Change password",
            "csrf_token": token or csrf_token(client, "/account"),
        },
    )


@pytest.fixture
def login_as(app: Flask) -> Callable[[User], FlaskClient]:
    """A new client signed in as the given user."""

    def make(user: User) -> FlaskClient:
        c = app.test_client()
        response = login(c, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return make


@pytest.fixture
def patient_client(login_as, patient) -> FlaskClient:
    return login_as(patient)


@pytest.fixture
def coach_client(login_as, coach) -> FlaskClient:
    return login_as(coach)


@pytest.fixture
def admin_client(login_as, admin) -> FlaskClient:
    return login_as(admin)


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Collect the SQL statements run inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append(statement)

    engine = _db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def queries() -> Callable:
    return count_queries


# The kept weekly check-in sums (portal.care.checkin_weeks) are written by triggers that create_all made once, for
# the session, before any test ran: mutmut would record their builders against the session's first test alone and
# run only that one against their mutants. Under `make mutation` a test that reads the kept weeks builds the
# triggers again itself, so mutmut runs it against every mutant of the triggers' SQL.
@pytest.fixture
def checkin_week_triggers(db) -> None:
    if "MUTANT_UNDER_TEST" in os.environ:
        with _db.engine.begin() as conn:
            checkin_weeks.drop_triggers(conn)
            checkin_weeks.create_triggers(conn)
