"""Every page each role's navigation reaches is valid HTML, checked by the W3C Nu HTML checker.

The pages are crawled through the app like a person clicking around (as a patient with a
plan, a coach and an admin), plus the check-in's error state, and handed to vnu.jar in one
run. `make test` installs the checker (the pinned `vnu-jar` npm package) and sets VNU_JAR.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import deque
from html.parser import HTMLParser
from pathlib import Path

import pytest

from portal.care.models import CheckIn, PlanItemPause
from portal.extensions import db
from portal.messaging.models import Message
from portal.push import PushSubscription
from portal.timeutil import local_today
from tests.conftest import csrf_token
from tests.outcome_cohorts import PatientSpec, build
from tests.plan_factories import make_item, make_plan

VNU_JAR = os.environ.get(
    "VNU_JAR", str(Path(__file__).resolve().parents[1] / "tools/vnu/node_modules/vnu-jar/build/dist/vnu.jar")
)
MAX_PER_PATTERN = 2  # /exercises/12 and /exercises/13 are the same template: two of each is enough
MAX_PAGES = 120
SKIP = re.compile(r"(/logout|/export|\.ics$|\.csv$|\.json$|\.zip$|/static/|/download|/print)")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href and href.startswith("/") and not href.startswith("//"):
            self.links.append(href.split("#")[0])


def _crawl(client, start: str) -> dict[str, str]:
    pages: dict[str, str] = {}
    seen_patterns: dict[str, int] = {}
    queue = deque([start])
    seen = {start}
    while queue and len(pages) < MAX_PAGES:
        url = queue.popleft()
        response = client.get(url, follow_redirects=True)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[url] = html
        parser = _Links()
        parser.feed(html)
        for link in parser.links:
            pattern = re.sub(r"\d+", "N", link.split("?")[0])
            if not link or link in seen or SKIP.search(link) or seen_patterns.get(pattern, 0) >= MAX_PER_PATTERN:
                continue
            seen.add(link)
            seen_patterns[pattern] = seen_patterns.get(pattern, 0) + 1
            queue.append(link)
    return pages


def _vnu_errors(pages: dict[str, str], folder: Path) -> dict[str, list[str]]:
    files = {}
    for n, (name, html) in enumerate(sorted(pages.items())):
        path = folder / f"page{n}.html"
        path.write_text(html, encoding="utf-8")
        files[path.name] = name
    result = subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [shutil.which("java") or "java", "-jar", VNU_JAR, "--errors-only", "--format", "json", "--exit-zero-always"]
        + [str(folder / file) for file in files],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    errors: dict[str, list[str]] = {}
    for message in json.loads(result.stderr or result.stdout)["messages"]:
        name = files.get(message.get("url", "").rsplit("/", 1)[-1], message.get("url", ""))
        extract = message.get("extract", "").strip().replace("\n", " ")[:120]
        errors.setdefault(name, []).append(f"line {message.get('lastLine')}: {message['message'][:140]} [{extract}]")
    return errors


@pytest.mark.skipif(not Path(VNU_JAR).exists(), reason="the Nu HTML checker is not installed (make test installs it)")
def test_every_page_each_role_reaches_is_valid_html(patient, coach, admin, login_as, tmp_path):
    plan = make_plan(
        patient, coach, items=[make_item(), make_item(), make_item(kind="posture"), make_item(kind="diet")]
    )
    day = local_today(patient.tz)
    db.session.add(CheckIn(patient_id=patient.id, day=day, pain=4, stiffness=3, spasm_episodes=1))
    db.session.add(Message(patient_id=patient.id, sender_id=coach.id, recipient_id=patient.id, body="How is it?"))
    # Phone notifications on: the account page lists the devices, each with its two forms.
    for n, who in enumerate((patient, patient, coach)):
        db.session.add(
            PushSubscription(
                user_id=who.id,
                endpoint=f"https://push.example/{n}",
                p256dh="B" + "A" * 86,
                auth="A" * 22,
                device="Chrome Mobile 131 · Android 14",
            )
        )
    db.session.commit()
    # One movement paused by the coach: its reason on the patient's pages, Resume on the coach's;
    # and the coach's page with the pause form's error (a reason is required).
    db.session.add(
        PlanItemPause(plan_item_id=plan.items[1].id, started_on=day, reason="Knee first", paused_by_id=coach.id)
    )
    db.session.commit()
    coach_page, coach_client = f"/coach/patients/{patient.id}", login_as(coach)
    refused = coach_client.post(
        f"{coach_page}/plans/{plan.id}/items/{plan.items[0].id}/pause",
        data={"csrf_token": csrf_token(coach_client, coach_page), "version": str(plan.version), "reason": ""},
    )
    pages: dict[str, str] = {"coach patient page (pause reason missing)": refused.get_data(as_text=True)}
    assert refused.status_code == 422
    # Signed out again: a second session of the coach would change their account page.
    coach_client.post("/logout", data={"csrf_token": csrf_token(coach_client, coach_page)})
    for who in (patient, coach, admin):
        client = login_as(who)
        crawled = _crawl(client, "/")
        assert len(crawled) > 3, f"{who.role}: only {list(crawled)}"
        pages.update({f"{who.role} {url}": html for url, html in crawled.items()})
        if who is patient:
            pages["patient /me/plan/print"] = client.get("/me/plan/print").get_data(as_text=True)
            pages["patient /me/today/session/1"] = client.get("/me/today/session/1").get_data(as_text=True)
            pages["patient /me/today/session/2 (summary)"] = client.get("/me/today/session/2").get_data(as_text=True)
            token = csrf_token(client, "/me/checkin")
            bad = client.post("/me/checkin", data={"csrf_token": token, "pain": "11"})
            assert bad.status_code == 422
            pages["patient /me/checkin (errors)"] = bad.get_data(as_text=True)
        if who is coach:
            picker = f"/coach/patients/{patient.id}/plans/{plan.id}/items/add"
            assert picker in crawled  # linked from the patient's page
            token = csrf_token(client, picker)
            refused = client.post(picker[: -len("/add")] + "?q=item", data={"csrf_token": token, "version": "1"})
            assert refused.status_code == 400
            pages["coach item picker (errors)"] = refused.get_data(as_text=True)
        if who is admin:
            # Outcomes with enough patients for every chart and table, with a bad filter, and empty.
            build([PatientSpec(clinic=0, coach=0, program=0, start_ago=30, pains={0: 6, 9: 4}) for _ in range(6)])
            for url in ("/outcomes/?compare=clinic", "/outcomes/?weeks=3", "/outcomes/?started_to=2000-01-01"):
                pages[f"admin {url}"] = client.get(url).get_data(as_text=True)
            assert "<canvas" in pages["admin /outcomes/?compare=clinic"]
    assert plan.items  # the patient's pages had a plan to show
    anonymous = login_as(patient).application.test_client()
    for path in ("/api/v1/docs", "/api/v1/problems", "/api/v1/problems/item_paused"):
        pages[f"public {path}"] = anonymous.get(path).get_data(as_text=True)
    errors = _vnu_errors(pages, tmp_path)
    assert errors == {}, json.dumps(errors, indent=1, ensure_ascii=False)[:6000]
