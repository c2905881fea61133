"""The Outcomes page in Chromium at 360 and 1280 px: an admin filters by clinic and by program
(in place, and in the address), sees the charts with their tables and downloads the CSV; a
coach sees only their own patients; axe finds nothing; the printed page keeps charts and tables;
screenshots and the PDF for a person to look at."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.auth.models import Clinic, Role, User
from portal.care.models import Plan, Program
from portal.extensions import db
from portal.timeutil import local_today
from tests.e2e.axe import axe_violations, needs_axe
from tests.e2e.conftest import log_in
from tests.outcome_cohorts import PatientSpec, build

pytestmark = pytest.mark.e2e
WIDTHS = [360, 1280]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


def _spec(clinic: int, program: int, start_pain: int, now_pain: int) -> PatientSpec:
    """A patient who started 50 days ago, checked in weekly and did most of their plan lately."""
    pains = {day: start_pain + (now_pain - start_pain) * day // 49 for day in range(0, 50, 3)}
    return PatientSpec(
        clinic, 0, program, 50, pains=pains, pegs={0: (7, 6, 6), 6: (4, 3, 3)}, done_days=list(range(20))
    )


@pytest.fixture(scope="module")
def cohort(live_server) -> dict:
    """Beside the demo's ten patients: eight more in Arlington on the first starter program and six
    in Plano on the second, under a coach of their own (the demo coaches' rosters stay as they were)."""
    with live_server.app.app_context():
        by_city = {c.city: c for c in db.session.scalars(db.select(Clinic))}
        programs = list(db.session.scalars(db.select(Program).where(Program.slug.is_not(None)).order_by(Program.name)))
        coach = User(email="outcomes.coach@example.org", name="Olive Outcomes", role=Role.COACH)
        db.session.add(coach)
        db.session.commit()
        specs = [_spec(0, 0, 7, 3 + n % 3) for n in range(8)] + [_spec(1, 1, 5, 5 + n % 2) for n in range(6)]
        build(
            specs,
            clinics=[by_city["Arlington"], by_city["Plano"]],
            coaches=[coach],
            programs=programs[:2],
            today=local_today(None),
        )
        return {
            "arlington": (by_city["Arlington"].id, by_city["Arlington"].name),
            "program": (programs[0].id, programs[0].name),
        }


def _with_plans(live_server, *conditions) -> int:
    """Patients with a plan (other browser tests may add some), counted straight from the tables."""
    with live_server.app.app_context():
        started = db.select(Plan.patient_id).distinct().subquery()
        query = db.select(db.func.count()).select_from(User).join(started, started.c.patient_id == User.id)
        return db.session.scalar(query.where(User.role == Role.PATIENT, *conditions))


def _page(browser, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.console_errors = errors  # type: ignore[attr-defined]
    return context, page


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _charts_drawn(page, count: int) -> None:
    expect(page.locator("canvas[data-drawn=true]")).to_have_count(count)


@needs_axe
@pytest.mark.parametrize("width", WIDTHS)
def test_admin_filters_by_clinic_and_program_and_downloads(browser, live_server, cohort, width):
    context, page = _page(browser, width)
    try:
        log_in(page, live_server, "admin@example.com")
        assert page.url.endswith("/outcomes/")  # the admin's home
        expect(page.get_by_role("heading", level=1)).to_have_text("Outcomes")
        expect(page.get_by_role("heading", name="Open alerts per clinic")).to_be_visible()
        everyone = _with_plans(live_server)
        assert everyone >= 14  # the demo patients with a plan and fourteen more
        expect(page.locator('[data-stat="started"]')).to_have_text(str(everyone))
        _charts_drawn(page, 3)
        assert axe_violations(page) == []

        # By clinic: the figures change in place (no new page) and the address follows.
        clinic_id, clinic_name = cohort["arlington"]
        page.evaluate("window.__samePage = true")
        page.get_by_label("Clinic", exact=True).select_option(label=clinic_name)
        expect(page).to_have_url(re.compile(rf"clinic={clinic_id}"))
        in_clinic = _with_plans(live_server, User.clinic_id == clinic_id)
        assert in_clinic >= 8  # eight and the demo patients of Arlington
        expect(page.locator('[data-stat="started"]')).to_have_text(str(in_clinic))
        assert page.evaluate("window.__samePage === true")
        _charts_drawn(page, 3)

        # And by program, with the chart's table opened.
        program_id, program_name = cohort["program"]
        page.get_by_label("Program", exact=True).select_option(label=program_name)
        expect(page).to_have_url(
            re.compile(rf"clinic={clinic_id}.*program={program_id}|program={program_id}.*clinic={clinic_id}")
        )
        started = int(page.locator('[data-stat="started"]').inner_text())
        assert started >= 8
        _charts_drawn(page, 3)
        page.get_by_text("Show weekly pain as a table").click()
        expect(
            page.get_by_role("table", name="Median pain and interquartile range per week since the start")
        ).to_be_visible()
        assert axe_violations(page) == []
        _shot(page, f"outcomes-admin-clinic-program-{width}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        # The same view from its address, without JavaScript's help: the GET form's own result.
        page.goto(page.url)
        expect(page.locator('[data-stat="started"]')).to_have_text(str(started))

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Download CSV").click()
        download = download_info.value
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
        assert ["# Clinic", clinic_name] in rows and ["# Program", program_name] in rows
        overall = next(row for row in rows if row and row[0] == "all")
        assert overall[2] == str(started)
        assert not page.console_errors
    finally:
        context.close()


@needs_axe
@pytest.mark.parametrize("width", WIDTHS)
def test_coach_sees_only_their_own_patients(browser, live_server, cohort, width):
    context, page = _page(browser, width)
    try:
        log_in(page, live_server, "coach@example.com")
        page.goto(f"{live_server}/outcomes/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Outcomes")
        with live_server.app.app_context():
            marcus, priya = (
                db.session.scalar(db.select(User.id).where(User.email == e))
                for e in ("coach@example.com", "coach2@example.com")
            )
        own = _with_plans(live_server, User.coach_id == marcus)
        assert own >= 1
        expect(page.locator('[data-stat="started"]')).to_have_text(str(own))  # Marcus Bell's, none of the rest
        expect(page.get_by_role("heading", name="Open alerts per clinic")).to_have_count(0)
        coach_choices = page.get_by_label("Coach", exact=True).locator("option").all_inner_texts()
        assert coach_choices == ["My patients", "Marcus Bell"]
        assert "Olive Outcomes" not in page.content()
        _charts_drawn(page, page.locator("canvas[data-chart]").count())
        assert axe_violations(page) == []
        _shot(page, f"outcomes-coach-{width}")
        # Another coach's figures by address: refused, never shown.
        response = page.goto(f"{live_server}/outcomes/?coach={priya}")
        assert response.status == 400
        expect(page.get_by_text("You can see the figures of your own patients only.")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


def test_too_few_patients_show_their_number_only(page, live_server, cohort):
    """A clinic with three patients: its figures say "too few to compare". (A clinic of its own:
    other browser tests in the same server give the demo clinics' patients plans.)"""
    log_in(page, live_server, "admin@example.com")
    with live_server.app.app_context():
        programs = list(db.session.scalars(db.select(Program).where(Program.slug.is_not(None)).order_by(Program.name)))
        tiny = Clinic(name="Holistiq Small Town", city="Small Town", phone="(817) 555-0177", timezone="America/Chicago")
        coach = User(email="small.town.coach@example.org", name="Sam Small", role=Role.COACH)
        db.session.add_all([tiny, coach])
        db.session.commit()
        build(
            [_spec(0, 0, 7, 3 + n) for n in range(3)],
            clinics=[tiny],
            coaches=[coach],
            programs=programs[:1],
            today=local_today(None),
        )
        tiny_id = tiny.id
    few = _with_plans(live_server, User.clinic_id == tiny_id)
    assert few == 3
    page.goto(f"{live_server}/outcomes/?clinic={tiny_id}")
    expect(page.locator('[data-stat="started"]')).to_have_text(str(few))
    expect(page.get_by_text("too few to compare").first).to_be_visible()
    expect(page.locator("canvas")).to_have_count(0)
    page.goto(f"{live_server}/outcomes/?started_from=2001-01-01&started_to=2001-02-01")
    expect(page.get_by_text("No patients match these filters")).to_be_visible()


def test_the_printed_page_has_the_charts_and_their_tables(page, live_server, cohort):
    log_in(page, live_server, "admin@example.com")
    clinic_id, _name = cohort["arlington"]
    page.goto(f"{live_server}/outcomes/?clinic={clinic_id}")
    expect(page.locator("canvas[data-drawn=true]")).to_have_count(3)
    # What "Print" does before the browser's print dialog: every table alternative opens.
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("#outcome-results details:not([open])").count() == 0
    page.emulate_media(media="print")
    SCREENSHOTS.mkdir(exist_ok=True)
    pdf = SCREENSHOTS / "outcomes-print.pdf"
    page.pdf(path=str(pdf), format="Letter", print_background=False)
    if shutil.which("pdftotext"):  # poppler-utils, where installed: the paper's own words
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "Clinic:" in text and "Median pain by week since the start" in text and "Week" in text
    assert Path(pdf).stat().st_size > 20_000  # the charts are on it, not only text
    # The navigation and the filter form stay off the paper.
    assert page.locator("#outcome-filters").evaluate("e => getComputedStyle(e).display") == "none"
