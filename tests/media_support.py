"""Media storage for the tests: a real S3-protocol server process (moto's server mode) and a
fixture that runs a test once per storage backend (folder, S3)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import av
import boto3
import pytest
import requests
from flask import Flask
from PIL import Image

from portal.mediastore import FolderStore, MediaStore, S3Store
from tests.servers import free_port

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free port, for the whole run."""
    for name, value in S3_ENV.items():
        os.environ.setdefault(name, value)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            requests.get(url, timeout=2)
            break
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the moto S3 server did not start") from None
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def new_bucket(endpoint: str) -> str:
    bucket = f"media-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["folder", "s3"])
def media_backend(request, app: Flask, tmp_path: Path) -> Iterator[MediaStore]:
    """The app's media store, once a folder and once an S3 bucket (empty for each test)."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        store: MediaStore = S3Store(new_bucket(endpoint), endpoint)
    else:
        store = FolderStore(tmp_path / "media")
    previous = app.extensions["media_store"]
    app.extensions["media_store"] = store
    yield store
    app.extensions["media_store"] = previous


def stored_keys(store: MediaStore) -> list[str]:
    """Every object in the store (to prove a refused upload left nothing)."""
    if isinstance(store, FolderStore):
        return sorted(p.name for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


def jpeg_with_gps(width: int = 3000, height: int = 2000) -> bytes:
    """A JPEG photo carrying camera and GPS EXIF data, like one straight from a phone."""
    image = Image.new("RGB", (width, height), (180, 120, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (32.0, 44.0, 10.0)
    gps[3] = "W"
    gps[4] = (97.0, 6.0, 30.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=80)
    return out.getvalue()


def png_bytes(width: int = 200, height: int = 120) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(out, "PNG")
    return out.getvalue()


def mp4_bytes(size: int = 64 * 1024) -> bytes:
    """Bytes with an MP4 container signature (an ftyp box), padded to ``size``."""
    ftyp = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    body = bytes(range(256)) * (size // 256 + 1)
    return (ftyp + body)[:size]


def real_video(kind: str = "mp4", frames: int = 5, side: int = 32) -> bytes:
    """A real, playable video made here by FFmpeg (through PyAV): H.264 in MP4, or VP8 in WebM."""
    codec = {"mp4": "libx264", "webm": "libvpx"}[kind]
    out = io.BytesIO()
    with av.open(out, "w", format=kind) as container:
        stream = container.add_stream(codec, rate=10)
        stream.width = stream.height = side
        stream.pix_fmt = "yuv420p"
        for number in range(frames):
            frame = av.VideoFrame.from_image(Image.new("RGB", (side, side), (number * 40 % 256, 120, 60)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
