"""A video served by the portal under gunicorn (a real server process), from each storage backend:
range requests as a phone's player sends them."""

from __future__ import annotations

import io

import pytest
import requests

from portal.auth.accounts import create_account
from portal.auth.models import Clinic, Role
from portal.exercises.models import LibraryItem
from portal.extensions import db as _db
from portal.mediastore import FolderStore, S3Store
from tests.conftest import PASSWORD, give_test_consent
from tests.media_support import S3_ENV, mp4_bytes, new_bucket
from tests.servers import AppServer, once_per_run, post_login, prepare_database

pytestmark = once_per_run
VIDEO = mp4_bytes(300_000)


@pytest.fixture(params=["folder", "s3"])
def served_video(request, tmp_path):
    """A gunicorn server whose database has an item with a video, in the chosen backend."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = new_bucket(endpoint)
        store = S3Store(bucket, endpoint)
        env = {"MEDIA_S3_BUCKET": bucket, "MEDIA_S3_ENDPOINT_URL": endpoint, **S3_ENV}
    else:
        store = FolderStore(tmp_path / "media")
        env = {"MEDIA_ROOT": str(tmp_path / "media")}
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    found = {}

    def setup():
        clinic = Clinic(name="Media Clinic", city="Irving", phone="(972) 555-0100")
        _db.session.add(clinic)
        _db.session.flush()
        coach = create_account(email="media.coach@example.org", name="Media Coach", role=Role.COACH, password=PASSWORD)
        _db.session.flush()
        give_test_consent(
            create_account(
                email="media.patient@example.org",
                name="Media Patient",
                role=Role.PATIENT,
                clinic_id=clinic.id,
                coach_id=coach.id,
                password=PASSWORD,
            )
        )
        digest = store.put(io.BytesIO(VIDEO), "video/mp4")
        item = LibraryItem(
            kind="exercise",
            title="Clinic demo",
            slug="clinic-demo",
            summary="A demonstration.",
            instructions="Watch.",
            body_area="lower_back",
            created_by_id=coach.id,
            media_kind="video",
            media_type="video/mp4",
            media_digest=digest,
        )
        _db.session.add(item)
        _db.session.flush()
        found["path"] = f"/library/{item.id}/media/{digest}.mp4"

    prepare_database(url, setup)
    server = AppServer(url, **env)
    try:
        yield server, found["path"]
    finally:
        server.stop()


def test_video_ranges_over_http(served_video):
    server, path = served_video
    anonymous = requests.get(server.url + path, allow_redirects=False, timeout=10)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    session = requests.Session()
    assert post_login(session, server.url, "media.patient@example.org", PASSWORD).status_code == 302
    whole = session.get(server.url + path, timeout=10)
    assert whole.status_code == 200 and whole.content == VIDEO
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Type"] == "video/mp4"
    assert "immutable" in whole.headers["Cache-Control"] and "private" in whole.headers["Cache-Control"]
    first = session.get(server.url + path, headers={"Range": "bytes=0-1"}, timeout=10)
    assert first.status_code == 206 and first.content == VIDEO[:2]
    assert first.headers["Content-Range"] == f"bytes 0-1/{len(VIDEO)}" and first.headers["Content-Length"] == "2"
    seek = session.get(server.url + path, headers={"Range": "bytes=150000-"}, timeout=10)
    assert seek.status_code == 206 and seek.content == VIDEO[150000:]
    assert seek.headers["Content-Range"] == f"bytes 150000-{len(VIDEO) - 1}/{len(VIDEO)}"
    beyond = session.get(server.url + path, headers={"Range": f"bytes={len(VIDEO)}-"}, timeout=10)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(VIDEO)}"
