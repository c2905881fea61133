"""Load benchmark: the portal served the production way, under wrk, on PostgreSQL and on SQLite.

Run through `make bench` (bench/run.sh). For each data set (the demo data, then the
reference size from `python -m bench.data`) and each engine (a PostgreSQL database,
then an SQLite file) it creates a fresh database, serves the portal with gunicorn
(2 sync workers, production settings over plain http on 127.0.0.1), signs in a
patient and a coach, and drives 16 connections at each page with wrk; the bare
Flask app in bench/hello.py, served the same way right before each page, gives the
ceiling. Results: bench/results/latest.json and latest.md.

Environment (all optional):
  BENCH_PATIENTS / BENCH_DAYS   reference size (10000 / 180)
  BENCH_LARGE_PATIENTS / BENCH_LARGE_DAYS   size of the "large" set, `make bench-large` (100000 / 365)
  BENCH_OUTPUT                  name of the result files in bench/results ("latest"; `make bench-large`: "large")
  BENCH_DB_PREFIX               PostgreSQL database names, <prefix>_<set> ("holistiq_bench"; `make bench-large`: "holistiq_bigbench")
  BENCH_DURATION                seconds of load per page (8)
  BENCH_HELLO_DURATION          seconds of the ceiling measured right before each page (4)
  BENCH_CONNECTIONS             concurrent connections (16)
  BENCH_PG_URL                  server to create the databases on (postgresql://postgres@127.0.0.1:5432/postgres)
  BENCH_PORT                    first of the two ports used (8810 for hello, the next for the portal)
  BENCH_SETS                    which data sets: "demo,reference" (default), "demo,large" or any of them
  BENCH_ENGINES                 which databases: "postgresql,sqlite" (default) or one of them
  BENCH_KEEP_DB=1               keep the databases (PostgreSQL) and files (SQLite) afterwards, for profiling
  BENCH_DATA_KEY                the DATA_ENCRYPTION_KEY to use (default: a new one per run)
  BENCH_PAGES                   only these pages, by key (e.g. "outcomes,outcomes_csv"; default: all)
  BENCH_OUTPUT                  the results' file name in bench/results, without extension ("latest")
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(ROOT))

from engines import BenchDatabase, create_database, parse_engines  # noqa: E402
from login import api_token, cookie_header, find_form, login, parse_forms  # noqa: E402
from pages import MINIMAL_PATH  # noqa: E402
from report import evaluate, markdown, section_title  # noqa: E402

from portal.crypto import new_vapid_key  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
ADMIN_EMAIL = "admin@example.com"  # the demo admin: seed-demo runs on every data set
PATIENTS = int(os.environ.get("BENCH_PATIENTS", "10000"))
DAYS = int(os.environ.get("BENCH_DAYS", "180"))
LARGE_PATIENTS = int(os.environ.get("BENCH_LARGE_PATIENTS", "100000"))
LARGE_DAYS = int(os.environ.get("BENCH_LARGE_DAYS", "365"))
# The data sets bench.data generates, and their sizes; "demo" is seed-demo alone.
GENERATED = {"reference": (PATIENTS, DAYS), "large": (LARGE_PATIENTS, LARGE_DAYS)}
OUTPUT = os.environ.get("BENCH_OUTPUT", "latest")
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "holistiq_bench")
DURATION = int(os.environ.get("BENCH_DURATION", "8"))
HELLO_DURATION = int(os.environ.get("BENCH_HELLO_DURATION", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PORT = int(os.environ.get("BENCH_PORT", "8810"))
SETS = [s.strip() for s in os.environ.get("BENCH_SETS", "demo,reference").split(",") if s.strip()]
ENGINES_SETTING = os.environ.get("BENCH_ENGINES", "postgresql,sqlite")
KEEP_DB = os.environ.get("BENCH_KEEP_DB") == "1"
PAGES = {p.strip() for p in os.environ.get("BENCH_PAGES", "").split(",") if p.strip()}
OUTPUT = os.environ.get("BENCH_OUTPUT", "latest")

# Each page's goal: the share of the bare-Flask ceiling it keeps, on every data set and
# engine. The other goals (p99, flat cost, worker memory) are the same for all pages (report.py).
MINIMAL_PAGE_GOAL = 0.35  # a signed-in page that does almost nothing: the per-request tax alone
TODAY_GOAL = 0.25  # Today in either language and its guided session
MARK_DONE_GOAL = 0.20
PATIENT_PAGE_GOAL = 0.15  # save check-in, progress page, chart data
COACH_LIST_GOAL = 0.15  # roster, alert inbox
COACH_PATIENT_GOAL = 0.10
API_GOAL = 0.15  # the API's JSON reads, like the chart data they resemble
# Report pages aggregate the whole practice: their cost grows with it by nature, so they are held to
# an answer time instead of a share of hello, measured one request at a time (one connection).
OUTCOMES_GOAL_MS = {"postgresql": 1000.0, "sqlite": 3000.0}
REPORT_TIMEOUT_S = 120  # a report page slower than its goal is still measured, not dropped as a timeout


@dataclass
class Target:
    key: str
    label: str
    role: str  # whose session: patient | patient_es | coach | admin, or whose API token: patient_api | coach_api
    goal: float  # share of hello to reach
    method: str = "GET"
    url: str = ""
    body: str = ""
    connections: int = CONNECTIONS
    answer_goal_ms: dict | None = None  # per engine: a report page's median answer time to stay under


@dataclass
class Result:
    key: str
    label: str
    role: str
    method: str
    path: str
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    requests: int
    goal: float = 0.0  # share of hello to reach
    share_of_hello: float | None = None
    hello_rps: float | None = None  # the ceiling measured just before this page
    cpu_ms: dict = field(default_factory=dict)  # CPU ms per request: app workers (and PostgreSQL's backends)
    cpu_share_of_hello: float | None = None  # hello's CPU per request / this page's
    detail: dict = field(default_factory=dict)
    connections: int = CONNECTIONS
    answer_goal_ms: float | None = None  # report pages: p50 (one connection) must stay under this


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases ------------------------------------------------------------------


def _run(env: dict, argv: list[str]) -> str:
    out = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def flask(env: dict, *args: str) -> str:
    return _run(env, [str(VENV_BIN / "flask"), *args])


def bench_data(env: dict, *args: str) -> str:
    """The large-data generator: not a flask command, so production never lists it."""
    return _run(env, [str(VENV_BIN / "python"), "-m", "bench.data", *args])


# One throwaway encryption key per benchmark run: the data generator and the servers must agree
# (staff authenticator secrets are stored encrypted), and production refuses to start without one.
# BENCH_DATA_KEY reuses a known key, e.g. to profile a kept database with bench/profile.py.
DATA_KEY = os.environ.get("BENCH_DATA_KEY") or Fernet.generate_key().decode()
VAPID_KEY = new_vapid_key()


def app_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        FLASK_APP="wsgi",
        PORTAL_ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(48),
        DATA_ENCRYPTION_KEY=DATA_KEY,
        # Production refuses to start without a web push key and contact; nothing is pushed here.
        VAPID_PRIVATE_KEY=VAPID_KEY,
        VAPID_SUBJECT="mailto:bench@holistiq.example",
        # Production settings, but plain http on 127.0.0.1: no TLS in the loop.
        SESSION_COOKIE_SECURE="0",
        FORCE_HTTPS="0",
        LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)
    return env


# --- servers --------------------------------------------------------------------


class Gunicorn:
    """gunicorn with 2 sync workers on 127.0.0.1:port, stopped on exit."""

    def __init__(self, app: str, port: int, env: dict, chdir: Path) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync", "--bind",
             f"127.0.0.1:{port}", "--chdir", str(chdir), "--log-level", "warning", app],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                requests.get(self.base + "/", timeout=10, allow_redirects=False)
                return
            except requests.RequestException:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn {app} exited with {self.proc.returncode}") from None
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"gunicorn {app} did not start on port {port}")

    def worker_pids(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(v) for v in out.split()]

    def worker_rss_mb(self) -> list[float]:
        out = subprocess.run(
            ["ps", "-o", "rss=", "--ppid", str(self.proc.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [round(int(v) / 1024, 1) for v in out.split()]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# --- wrk --------------------------------------------------------------------------


def run_wrk(
    url: str,
    *,
    credential: tuple[str, str] | None = None,
    method: str = "GET",
    body: str = "",
    duration: int | None = None,
    connections: int = 0,
    timeout_s: int = 10,
) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections or CONNECTIONS}", f"-d{duration or DURATION}s", "--timeout", f"{timeout_s}s", "-s",
           str(BENCH / "wrk" / "report.lua")]  # fmt: skip
    if credential:
        cmd += ["-H", f"{credential[0]}: {credential[1]}"]
    cmd.append(url)
    env = dict(os.environ, WRK_METHOD=method, WRK_BODY=body)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    match = re.search(r"^BENCH-JSON (\{.*\})$", out.stdout, re.M)
    if not match:
        raise RuntimeError(f"wrk gave no summary for {url}:\n{out.stdout}\n{out.stderr}")
    data = json.loads(match.group(1))
    data["non_2xx_3xx"] = (
        int(re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout).group(1)) if "Non-2xx" in out.stdout else 0
    )
    return data


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (from /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def measure(target: Target, credential: tuple[str, str], cpu_pids=None, engine: str = "") -> Result:
    # A few sequential requests first: connection pools, template caches, first-call imports. A report
    # page answers in seconds on the reference data: one request warms it, with room to answer.
    report = bool(target.answer_goal_ms)
    timeout = REPORT_TIMEOUT_S if report else 10
    s = requests.Session()
    for _ in range(1 if report else 5):
        if target.method == "POST":
            s.post(target.url, data=target.body, headers={credential[0]: credential[1],
                   "Content-Type": "application/x-www-form-urlencoded"}, allow_redirects=False, timeout=timeout)  # fmt: skip
        else:
            s.get(target.url, headers=dict([credential]), allow_redirects=False, timeout=timeout)
    probe = (
        s.post(
            target.url,
            data=target.body,
            headers={credential[0]: credential[1], "Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
            timeout=timeout,
        )  # fmt: skip
        if target.method == "POST"
        else s.get(target.url, headers=dict([credential]), allow_redirects=False, timeout=timeout)
    )
    if probe.status_code >= 400 or (
        probe.status_code in (301, 302, 303) and "/login" in probe.headers.get("Location", "")
    ):
        raise RuntimeError(f"{target.label}: {target.method} {target.url} answered {probe.status_code} before the run")
    pids = cpu_pids() if cpu_pids else {}
    before = {k: cpu_seconds(v) for k, v in pids.items()}
    data = run_wrk(
        target.url,
        credential=credential,
        method=target.method,
        body=target.body,
        connections=target.connections,
        timeout_s=REPORT_TIMEOUT_S if report else 10,
    )
    # CPU per request, of the app's workers and of their PostgreSQL backends (SQLite runs
    # inside the workers): unlike req/s, it hardly moves when other work competes for the CPUs.
    cpu_ms = {k: round((cpu_seconds(v) - before[k]) * 1000 / max(1, data["requests"]), 3) for k, v in pids.items()}
    seconds = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    lat = data["latency_us"]
    return Result(
        key=target.key, label=target.label, role=target.role, method=target.method, goal=target.goal,
        path=urlsplit(target.url).path,
        rps=round(data["requests"] / seconds, 1), p50_ms=lat["p50"] / 1000, p95_ms=lat["p95"] / 1000,
        p99_ms=lat["p99"] / 1000, errors=errors, requests=data["requests"],
        detail={"errors": data["errors"], "probe_status": probe.status_code, "latency_us": lat},
        cpu_ms=cpu_ms, connections=target.connections,
        answer_goal_ms=(target.answer_goal_ms or {}).get(engine),
    )  # fmt: skip


# --- pages ------------------------------------------------------------------------


def _fill_checkin(form) -> str:
    """The check-in form as a patient would send it: moderate pain, no red flags, items done."""
    values: list[tuple[str, str]] = [(n, v) for n, v in form.fields]
    filled = dict(values)
    defaults = {"pain": "4", "stiffness": "4", "spasm_episodes": "1", "sleep_quality": "3", "water_glasses": "6"}
    values = [(n, defaults.get(n, v) if v == "" else v) for n, v in values]
    for name, value in defaults.items():
        if name not in filled and (name in form.selects):
            values.append((name, value))
    for name, options in form.selects.items():
        if name in defaults:
            continue
        chosen = next((v for v, sel in options if sel), options[0][0] if options else "")
        values.append((name, chosen))
    for name, options in form.choices.items():
        if name.startswith("rf_"):
            no = next((v for v, _ in options if v.lower() in ("n", "no", "0", "false")), None)
            if no is not None:
                values.append((name, no))
            continue  # an unticked checkbox means "no"
        if len(options) == 1 or all(v not in ("y", "n", "yes", "no") for v, _ in options):
            # Item checkboxes: tick them all (the patient did their plan today).
            values.extend((name, v) for v, _ in options)
        else:
            chosen = next((v for v, c in options if c), options[0][0])
            values.append((name, chosen))
    values.extend(form.submit_names[:1])
    return urlencode(values)


def build_targets(
    app: Gunicorn, patient: requests.Session, coach: requests.Session, patient_id: int, plan_item: tuple[int, int]
) -> list[Target]:
    """Every measured page, or those BENCH_PAGES names."""
    targets = _all_targets(app, patient, coach, patient_id, plan_item)
    return [t for t in targets if t.key in PAGES] if PAGES else targets


def _all_targets(
    app: Gunicorn, patient: requests.Session, coach: requests.Session, patient_id: int, plan_item: tuple[int, int]
) -> list[Target]:
    """The measured pages. Today is measured twice: for an English and for a Spanish patient (same data shape)."""
    base = app.base
    today = patient.get(f"{base}/me/", timeout=30)
    today_forms = parse_forms(today.text, today.url)
    done_form = next(
        (f for f in today_forms if f.method == "POST" and "/today/items/" in f.action),
        None,
    )
    checkin_page = patient.get(f"{base}/me/checkin", timeout=30)
    checkin_form = find_form(parse_forms(checkin_page.text, checkin_page.url), field_name="pain")
    progress = patient.get(f"{base}/me/progress", timeout=30)
    data_url = re.search(r'data-[a-z-]*url="([^"]+\.json[^"]*)"', progress.text)
    targets = [
        Target("minimal", "Patient: minimal signed-in page (the layout only, bench-only)", "patient",
               MINIMAL_PAGE_GOAL, url=base + MINIMAL_PATH),
        Target("account", "Patient: account page", "patient", MINIMAL_PAGE_GOAL, url=f"{base}/account"),
        Target("today", "Patient: Today", "patient", TODAY_GOAL, url=f"{base}/me/"),
        Target("today_es", "Patient: Today in Spanish", "patient_es", TODAY_GOAL, url=f"{base}/me/"),
        Target("session", "Patient: guided session step", "patient", TODAY_GOAL, url=f"{base}/me/today/session/1"),
    ]  # fmt: skip
    if done_form is not None:
        body = urlencode(list(done_form.fields) + done_form.submit_names[:1])
        targets.append(
            Target("mark_done", "Patient: mark item done (POST)", "patient", MARK_DONE_GOAL, "POST", done_form.action,
                   body)
        )  # fmt: skip
    else:
        log("no mark-done form on the Today page: skipped")
    targets += [
        Target("checkin", "Patient: save check-in (POST)", "patient", PATIENT_PAGE_GOAL, "POST", checkin_form.action,
               _fill_checkin(checkin_form)),
        Target("item", "Patient: an item's page (drawing, steps, dose)", "patient", PATIENT_PAGE_GOAL,
               url=f"{base}/library/{plan_item[1]}"),
        Target("progress", "Patient: progress page", "patient", PATIENT_PAGE_GOAL, url=f"{base}/me/progress"),
        Target("progress_data", "Patient: progress chart data", "patient", PATIENT_PAGE_GOAL,
               url=base + (data_url.group(1).replace("&amp;", "&") if data_url else "/me/progress/data.json")),
        Target("roster", "Coach: roster", "coach", COACH_LIST_GOAL, url=f"{base}/coach/"),
        Target("coach_patient", "Coach: patient page", "coach", COACH_PATIENT_GOAL,
               url=f"{base}/coach/patients/{patient_id}"),
        Target("alerts", "Coach: alert inbox", "coach", COACH_LIST_GOAL, url=f"{base}/coach/alerts"),
        Target("picker", "Coach: item picker (the library with pictures and doses)", "coach", COACH_PATIENT_GOAL,
               url=f"{base}/coach/patients/{patient_id}/plans/{plan_item[0]}/items/add"),
        # The API a phone app and an EHR use, with a bearer token: the same figures as the pages, as JSON.
        Target("api_today", "API: patient's Today", "patient_api", API_GOAL, url=f"{base}/api/v1/me/today"),
        Target("api_plan", "API: patient's plan", "patient_api", API_GOAL, url=f"{base}/api/v1/me/plan"),
        Target("api_progress", "API: patient's progress", "patient_api", API_GOAL, url=f"{base}/api/v1/me/progress"),
        Target("api_roster", "API: coach's patients", "coach_api", API_GOAL, url=f"{base}/api/v1/coach/patients"),
        Target("api_patient", "API: coach's view of a patient", "coach_api", API_GOAL,
               url=f"{base}/api/v1/coach/patients/{patient_id}"),
        Target("api_alerts", "API: coach's alerts", "coach_api", API_GOAL, url=f"{base}/api/v1/coach/alerts"),
        # The whole practice (admin) and one coach's patients, the page and its group CSV.
        Target("outcomes", "Admin: Outcomes page (whole practice)", "admin", 0.0, url=f"{base}/outcomes/",
               connections=1, answer_goal_ms=OUTCOMES_GOAL_MS),
        Target("outcomes_clinic", "Admin: Outcomes compared by clinic", "admin", 0.0,
               url=f"{base}/outcomes/?compare=clinic&weeks=4", connections=1, answer_goal_ms=OUTCOMES_GOAL_MS),
        Target("outcomes_csv", "Admin: Outcomes CSV (whole practice)", "admin", 0.0, url=f"{base}/outcomes/report.csv",
               connections=1, answer_goal_ms=OUTCOMES_GOAL_MS),
        Target("outcomes_coach", "Coach: Outcomes page (own patients)", "coach", 0.0, url=f"{base}/outcomes/",
               connections=1, answer_goal_ms=OUTCOMES_GOAL_MS),
    ]  # fmt: skip
    return targets


# --- one data set -----------------------------------------------------------------


def _hello_figures(data: dict) -> dict:
    return {
        "rps": round(data["requests"] / (data["duration_us"] / 1e6), 1),
        "p50_ms": data["latency_us"]["p50"] / 1000,
        "p99_ms": data["latency_us"]["p99"] / 1000,
        "errors": sum(data["errors"].values()),
    }


def _user_id(database: BenchDatabase, email: str) -> int:
    rows = database.rows("SELECT id FROM user_account WHERE lower(email) = :email", email=email)
    if not rows:
        raise RuntimeError(f"no user {email}")
    return rows[0][0]


def _plan_and_item(database: BenchDatabase, patient_id: int) -> tuple[int, int]:
    """The patient's active plan and the library item of its first item: the picker's and the item page's ids."""
    rows = database.rows(
        "SELECT plan.id, plan_item.library_item_id FROM plan JOIN plan_item ON plan_item.plan_id = plan.id "
        "WHERE plan.patient_id = :patient AND plan.status = 'active' ORDER BY plan_item.id LIMIT 1",
        patient=patient_id,
    )
    if not rows:
        raise RuntimeError(f"patient {patient_id} has no active plan with items")
    return rows[0][0], rows[0][1]


def _set_language(database: BenchDatabase, email: str, language: str) -> None:
    database.execute(
        "UPDATE user_account SET language = :language WHERE lower(email) = :email", language=language, email=email
    )


def _table_sizes(database: BenchDatabase) -> dict[str, int]:
    # Fixed table names, not input: formatting them in is safe.
    return {
        t: database.rows(f"SELECT count(*) FROM {t}")[0][0]  # nosec B608
        for t in ("user_account", "checkin", "item_log", "alert", "message")
    }


def run_set(name: str, engine: str) -> dict:
    database = create_database(engine, name, PG_URL, DB_PREFIX)
    try:
        return _measure_set(name, database)
    finally:
        if KEEP_DB:
            log(f"{database.kept_note()}; its secrets use DATA_ENCRYPTION_KEY={DATA_KEY}")
            database.close()
        else:
            database.remove()


def _measure_set(name: str, database: BenchDatabase) -> dict:
    title = f"{name} on {database.engine}"
    database_url = database.url
    env = app_env(database_url)
    t0 = time.perf_counter()
    flask(env, "db", "upgrade")
    flask(env, "seed-demo")
    generator = None
    if name in GENERATED:
        patients, days = GENERATED[name]
        log(f"generating {patients} patients x {days} days")
        out = bench_data(env, "--patients", str(patients), "--days", str(days))
        print(out, end="")
        match = re.search(r"Wrote ([\d,]+) rows in ([\d.]+) s \(([\d,]+) rows/s\)", out)
        generator = {"patients": patients, "days": days}
        if match:
            generator.update(
                rows=int(match.group(1).replace(",", "")),
                seconds=float(match.group(2)),
                rows_per_second=int(match.group(3).replace(",", "")),
            )
        patient_email = "patient-00001@bench.holistiq.example"
        coach_email = "coach-0001@bench.holistiq.example"
        # A generated patient like the first, reading in Spanish: Today in both languages, same data shape.
        spanish_email = "patient-00002@bench.holistiq.example"
        _set_language(database, spanish_email, "es")
    else:
        patient_email, coach_email = "patient@example.com", "coach@example.com"
        spanish_email = "patient7@example.com"  # the demo's Spanish-speaking patient
    sizes = _table_sizes(database)
    ready_seconds = time.perf_counter() - t0
    if generator is not None:
        generator["wall_seconds"] = round(ready_seconds)
    disk_mb = database.disk_mb()
    log(f"{title}: database ready in {ready_seconds:.0f} s, {disk_mb:,.0f} MB on disk: {sizes}")

    load_before = os.getloadavg()[0]
    # Both servers stay up for the whole set; an idle gunicorn costs nothing. Right before
    # each page the ceiling is measured again for HELLO_DURATION seconds, and the page's
    # share is against that adjacent figure: on a shared machine the load drifts within
    # a run, and pairing measurements in time keeps the ratio meaningful.
    hello_server = Gunicorn("hello:app", PORT, dict(os.environ), BENCH)
    results: list[Result] = []
    hellos: list[float] = []
    hello_cpus: list[float] = []
    try:
        hello = _hello_figures(run_wrk(hello_server.base + "/"))
        log(f"{title}: hello ceiling {hello['rps']} req/s")
        server = Gunicorn("bench.portal_app:app", PORT + 1, env, ROOT)
        try:
            patient = login(server.base, patient_email)
            coach = login(server.base, coach_email)
            patient_id = _user_id(database, patient_email)
            # What each role sends: the session cookie for pages, a bearer token for the API.
            credentials = {
                "patient": ("Cookie", cookie_header(patient)),
                "patient_es": ("Cookie", cookie_header(login(server.base, spanish_email))),
                "coach": ("Cookie", cookie_header(coach)),
                "admin": ("Cookie", cookie_header(login(server.base, ADMIN_EMAIL))),
            }
            targets = build_targets(server, patient, coach, patient_id, _plan_and_item(database, patient_id))
            if any(t.role.endswith("_api") for t in targets):
                credentials["patient_api"] = ("Authorization", "Bearer " + api_token(server.base, patient_email))
                credentials["coach_api"] = ("Authorization", "Bearer " + api_token(server.base, coach_email))
            hello_pids = hello_server.worker_pids()

            def app_pids() -> dict[str, list[int]]:
                # On SQLite the queries run inside the workers: their CPU is the whole cost.
                pids = {"app": server.worker_pids()}
                if database.engine == "postgresql":
                    pids["postgres"] = database.server_pids()
                return pids

            for target in targets:
                if target.answer_goal_ms:
                    # A report page: its answer time, one request at a time, is the figure; no ceiling beside it.
                    result = measure(target, credentials[target.role], app_pids, database.engine)
                    results.append(result)
                    log(
                        f"{title}: {target.label}: p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms "
                        f"(goal < {result.answer_goal_ms:.0f} ms), CPU {result.cpu_ms} ms/request, "
                        f"{result.requests} requests, errors {result.errors}"
                    )
                    continue
                cpu_before = cpu_seconds(hello_pids)
                raw = run_wrk(hello_server.base + "/", duration=HELLO_DURATION)
                hello_cpu_ms = (cpu_seconds(hello_pids) - cpu_before) * 1000 / max(1, raw["requests"])
                hello_cpus.append(hello_cpu_ms)
                adjacent = _hello_figures(raw)["rps"]
                hellos.append(adjacent)
                result = measure(target, credentials[target.role], app_pids, database.engine)
                result.hello_rps = adjacent
                result.share_of_hello = round(result.rps / adjacent, 3) if adjacent else None
                page_cpu = sum(result.cpu_ms.values())
                result.cpu_share_of_hello = round(hello_cpu_ms / page_cpu, 3) if page_cpu else None
                results.append(result)
                log(
                    f"{title}: {target.label}: {result.rps} req/s ({100 * (result.share_of_hello or 0):.1f}% of "
                    f"hello {adjacent}), CPU {result.cpu_ms} ms/request vs hello {hello_cpu_ms:.2f}, "
                    f"p99 {result.p99_ms:.1f} ms, errors {result.errors}"
                )
            rss = server.worker_rss_mb()
        finally:
            server.stop()
    finally:
        hello_server.stop()
    hello["adjacent_rps"] = hellos
    hello["cpu_ms_per_request"] = round(sorted(hello_cpus)[len(hello_cpus) // 2], 3) if hello_cpus else None
    hello["adjacent_min"], hello["adjacent_max"] = (min(hellos), max(hellos)) if hellos else (None, None)
    return {
        "name": name,
        "engine": database.engine,
        "database": database.settings(),
        "sizes": sizes,
        "disk_mb": disk_mb,
        "generator": generator,
        "hello": hello,
        "pages": [asdict(r) for r in results],
        "worker_rss_mb": rss,
        # Other work on the machine skews every figure: the 1-minute load average around the run.
        "load_average": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
    }  # fmt: skip


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (bench/run.sh installs it).", file=sys.stderr)
        return 2
    try:
        engines = parse_engines(ENGINES_SETTING)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    started = time.perf_counter()
    sections = []
    for name in SETS:
        for engine in engines:
            sections.append(run_set(name, engine))
            log(f"{section_title(sections[-1])}: done")
    report = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": round(time.perf_counter() - started),
        "machine": {"cpus": os.cpu_count()},
        "settings": {"connections": CONNECTIONS, "duration_s": DURATION, "patients": PATIENTS, "days": DAYS,
                     "sizes": {n: GENERATED[n] for n in SETS if n in GENERATED},
                     "workers": 2, "worker_class": "sync", "engines": engines},
        "sections": sections,
    }  # fmt: skip
    report["goals"] = evaluate(sections)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{OUTPUT}.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (RESULTS / f"{OUTPUT}.md").write_text(table)
    print(table)
    log(f"done in {report['seconds']} s; wrote bench/results/{OUTPUT}.json and {OUTPUT}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
