"""Coach pictures and videos in a real browser: a coach uploads to their own items (from the new-item
page and from the edit page), a patient sees the picture and plays the video; bad files are refused."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.exercises.models import LibraryItem
from portal.extensions import db
from portal.mediastore import FolderStore, MediaStore, S3Store
from tests.e2e.conftest import log_in, log_out
from tests.media_support import new_bucket, png_bytes, stored_keys

pytestmark = pytest.mark.e2e

# Chromium records a real, playable WebM from a moving canvas: no video file needs to ship with the tests.
RECORD_WEBM = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 160; canvas.height = 120;
  const ctx = canvas.getContext("2d");
  const stream = canvas.captureStream(15);
  const recorder = new MediaRecorder(stream, {mimeType: "video/webm"});
  const chunks = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(100);
  let frame = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${frame * 12 % 360}, 60%, 50%)`; ctx.fillRect(0, 0, 160, 120); frame++;
  }, 50);
  await new Promise((r) => setTimeout(r, 1500));
  recorder.stop(); clearInterval(timer);
  await done;
  const buffer = await new Blob(chunks, {type: "video/webm"}).arrayBuffer();
  let binary = ""; const bytes = new Uint8Array(buffer);
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}"""


@pytest.fixture(params=["folder", "s3"])
def live_store(request, live_server, tmp_path: Path) -> Iterator[MediaStore]:
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        store: MediaStore = S3Store(new_bucket(endpoint), endpoint)
    else:
        store = FolderStore(tmp_path / "media")
    previous = live_server.app.extensions["media_store"]
    live_server.app.extensions["media_store"] = store
    yield store
    live_server.app.extensions["media_store"] = previous


def _fill_new_item(page, title: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("One-line summary").fill("Our own demonstration.")
    page.get_by_label("Step-by-step instructions").fill("Lie on your back.\nLift the hips slowly.")


def _item_id(page) -> int:
    return int(re.search(r"/library/(\d+)", page.url).group(1))


def test_coach_uploads_picture_and_video_and_patient_sees_and_plays_them(page, browser, live_server, live_store):
    log_in(page, live_server, "coach@example.com")
    webm = base64.b64decode(page.evaluate(RECORD_WEBM))
    assert webm[:4] == b"\x1a\x45\xdf\xa3"

    # From the new-item page: the item and its picture in one step.
    page.goto(live_server + "/library/new")
    _fill_new_item(page, "Clinic bridge photo")
    page.get_by_label("Picture or video", exact=True).set_input_files(
        {"name": "bridge.png", "mimeType": "image/png", "buffer": png_bytes(900, 600)}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit library item")
    picture_item = _item_id(page)
    expect(page.locator("#media-section img.item-photo")).to_be_visible()

    # A file that is not what its name says is refused beside the field, and nothing changes.
    page.get_by_label("Picture or video", exact=True).set_input_files(
        {"name": "trick.png", "mimeType": "image/png", "buffer": b"<!doctype html><h1>not a picture</h1>"}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#media-error")).to_contain_text("not a picture or video we accept")
    keys_before = stored_keys(live_store)
    assert len(keys_before) == 2  # the picture and its thumbnail only

    # From the edit page of a second own item: a video.
    page.goto(live_server + "/library/new")
    _fill_new_item(page, "Clinic bridge video")
    page.get_by_role("button", name="Save item").click()
    video_item = _item_id(page)
    page.goto(live_server + f"/library/{video_item}/edit")
    page.get_by_label("Picture or video", exact=True).set_input_files(
        {"name": "bridge.webm", "mimeType": "video/webm", "buffer": webm}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Video added.")).to_be_visible()
    # The only console message is the refused upload's 400 response.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
    log_out(page)

    # The patient, on a phone, sees the photo and plays the video.
    context = browser.new_context(viewport={"width": 360, "height": 740})
    phone = context.new_page()
    log_in(phone, live_server, "patient4@example.com")
    phone.goto(live_server + f"/library/{picture_item}")
    photo = phone.locator("img.item-photo-lg")
    expect(photo).to_be_visible()
    phone.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth") == 900
    phone.goto(live_server + f"/library/{video_item}")
    video = phone.locator("video.item-video")
    expect(video).to_be_visible()
    phone.wait_for_function("v => v.readyState >= 1", arg=video.element_handle(), timeout=15000)
    video.evaluate("v => { v.muted = true; return v.play(); }")
    phone.wait_for_function("v => v.currentTime > 0 || v.ended", arg=video.element_handle(), timeout=15000)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    context.close()

    with live_server.app.app_context():
        item = db.session.get(LibraryItem, video_item)
        assert item.media_type == "video/webm" and live_store.exists(item.media_digest)
