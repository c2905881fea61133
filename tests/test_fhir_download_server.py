"""The practice's FHIR export, made by the real command and downloaded from a real gunicorn worker.

The test client reads a response whole, so whether a download streams can only be
seen from a real server: the admin downloads a ~70 MB Observation file, it arrives
byte for byte with the Bulk Data media type, and the worker's peak memory does not
grow by anything near the file's size.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyotp
import pytest
import requests
import sqlalchemy as sa

from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role
from portal.care.models import CheckIn
from portal.extensions import db as _db
from tests.conftest import PASSWORD, TOTP_SECRET, give_test_consent
from tests.plan_factories import make_item, make_plan
from tests.servers import ROOT, AppServer, form_token, once_per_run, post_login, prepare_database

pytestmark = once_per_run
ADMIN, PATIENT = "fx.admin@example.org", "fx.patient@example.org"
PATIENTS, DAYS = 130, 365  # 47,450 check-ins: about 190,000 Observations
NDJSON = "application/fhir+ndjson"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[AppServer, Path, str]]:
    base = tmp_path_factory.mktemp("fhir-download")
    url = f"sqlite:///{base / 'portal.sqlite3'}"
    export_dir = base / "export"

    def setup():
        clinic = Clinic(name="Export Clinic", city="Irving", phone="(972) 555-0102")
        _db.session.add(clinic)
        _db.session.flush()
        admin = create_account(email=ADMIN, name="Export Admin", role=Role.ADMIN, password=PASSWORD)
        admin.totp_secret, admin.totp_enabled = TOTP_SECRET, True
        coach = create_account(email="fx.coach@example.org", name="Export Coach", role=Role.COACH)
        _db.session.flush()
        item = make_item(title="Pelvic tilt")
        first = date(2025, 1, 1)
        for n in range(PATIENTS):
            patient = create_account(
                email=PATIENT if n == 0 else f"fx.patient{n}@example.org",
                name=f"Export Patient {n}",
                role=Role.PATIENT,
                clinic_id=clinic.id,
                coach_id=coach.id,
            )
            patient.password_hash = admin.password_hash  # the same PASSWORD
            _db.session.flush()
            give_test_consent(patient)
            make_plan(patient, items=[item], title="Export plan")
            _db.session.execute(
                sa.insert(CheckIn),
                [
                    {
                        "patient_id": patient.id,
                        "day": first + timedelta(days=d),
                        "pain": d % 11,
                        "stiffness": 4,
                        "spasm_episodes": d % 3,
                    }
                    for d in range(DAYS)
                ],
            )

    prepare_database(url, setup)
    app_server = AppServer(url, FHIR_EXPORT_DIR=str(export_dir), LOGIN_RATE_LIMIT="1000 per minute")
    try:
        # The export as production makes it: the command, in a process of its own.
        made = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "fhir", "export"],
            cwd=ROOT,
            env=app_server.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stderr[-2000:]
        assert re.search(r"Wrote \d+ resources", made.stdout)
        yield app_server, export_dir, url
    finally:
        app_server.stop()


@pytest.fixture(scope="module")
def admin(server) -> requests.Session:
    """One sign-in for the module: a two-step code works once."""
    return _admin(server[0])


def _admin(server: AppServer) -> requests.Session:
    session = requests.Session()
    response = post_login(session, server.url, ADMIN, PASSWORD)
    assert response.headers["Location"].endswith("/login/two-factor")
    token = form_token(session, server.url + "/login/two-factor")
    done = session.post(
        server.url + "/login/two-factor",
        data={"code": pyotp.TOTP(TOTP_SECRET).now(), "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302 and "/login" not in done.headers["Location"]
    return session


def _worker_pid(server: AppServer) -> int:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    assert len(children) == 1, children  # one gunicorn worker
    return int(children[0])


def _peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_admin_downloads_the_export_streamed_with_the_bulk_data_type(server, admin):
    app_server, export_dir, url = server
    page = admin.get(app_server.url + "/admin/fhir-export", timeout=30)
    assert page.status_code == 200 and "/admin/fhir-export/Observation.ndjson" in page.text

    # A small file first: the worker has run the route once before its memory is read.
    patients = admin.get(app_server.url + "/admin/fhir-export/Patient.ndjson", timeout=30)
    assert patients.status_code == 200 and patients.headers["Content-Type"] == NDJSON
    assert patients.content == (export_dir / "Patient.ndjson").read_bytes()
    assert len(patients.content.splitlines()) == PATIENTS

    path = export_dir / "Observation.ndjson"
    size = path.stat().st_size
    assert size > 60_000_000
    worker = _worker_pid(app_server)
    before = _peak_rss_kb(worker)
    digest, received, lines, chunks = hashlib.sha256(), 0, 0, 0
    with admin.get(app_server.url + "/admin/fhir-export/Observation.ndjson", stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == NDJSON
        assert response.headers["Content-Disposition"] == "attachment; filename=Observation.ndjson"
        assert int(response.headers["Content-Length"]) == size
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            received += len(chunk)
            lines += chunk.count(b"\n")
            chunks += 1
    grown_mb = (_peak_rss_kb(worker) - before) / 1024
    print(f"Observation.ndjson: {size / 1e6:.1f} MB in {chunks} chunks; worker peak RSS grew {grown_mb:.1f} MB")
    assert received == size and digest.hexdigest() == _sha256(path)
    assert lines == PATIENTS * DAYS * 4  # pain, stiffness, spasm episodes and the red-flag screen per check-in
    # Read whole into memory, the worker's peak would rise by the file's ~70 MB at least.
    assert grown_mb < 20

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            kinds = connection.execute(
                sa.text("SELECT detail FROM audit_event WHERE action = 'fhir.bulk_download' ORDER BY id")
            ).scalars()
            assert [("Observation" in d, "Patient" in d) for d in kinds] == [(False, True), (True, False)]
    finally:
        engine.dispose()


def test_only_admins_download_the_export(server, admin):
    app_server, _export_dir, _url = server
    anonymous = requests.get(app_server.url + "/admin/fhir-export/Patient.ndjson", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    patient = requests.Session()
    assert post_login(patient, app_server.url, PATIENT, PASSWORD).status_code == 302
    refused = patient.get(app_server.url + "/admin/fhir-export/Patient.ndjson", allow_redirects=False, timeout=10)
    assert refused.status_code == 403 and "patient-" not in refused.text
    unknown = admin.get(app_server.url + "/admin/fhir-export/Secrets.ndjson", timeout=10)
    assert unknown.status_code == 404
