"""Content-addressed storage for uploaded pictures and videos.

One small interface, two backends: a folder under the instance directory (the embedded default)
and S3-compatible object storage, which several app servers share. Objects are keyed by the
SHA-256 of their bytes, so a key never changes meaning and its URL may be cached for a year.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import boto3
from botocore.exceptions import ClientError
from flask import Flask, current_app

CHUNK = 256 * 1024
DIGEST_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def digest_of(stream: BinaryIO) -> str:
    """The SHA-256 of a seekable stream's bytes, read in chunks; the stream is rewound."""
    stream.seek(0)
    sha = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        sha.update(chunk)
    stream.seek(0)
    return sha.hexdigest()


def _check_key(digest: str) -> str:
    # Keys reach paths and object names: only a well-formed digest may.
    if not DIGEST_PATTERN.match(digest):
        raise ValueError("not a media key")
    return digest


class MediaStore(Protocol):
    def put(self, stream: BinaryIO, content_type: str) -> str: ...
    def get(self, digest: str) -> bytes: ...
    def size(self, digest: str) -> int | None: ...
    def open_range(self, digest: str, start: int, stop: int) -> Iterator[bytes]: ...
    def delete(self, digest: str) -> None: ...
    def exists(self, digest: str) -> bool: ...


class FolderStore:
    """Objects as files under a folder, two levels deep by key prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        _check_key(digest)
        return self.root / digest[:2] / digest

    def put(self, stream: BinaryIO, content_type: str) -> str:  # noqa: ARG002 - the type lives on the row
        digest = digest_of(stream)
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target, then rename: a reader never sees half a file.
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    out.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def size(self, digest: str) -> int | None:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def open_range(self, digest: str, start: int, stop: int) -> Iterator[bytes]:
        with self._path(digest).open("rb") as source:
            source.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = source.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()


class S3Store:
    """Objects in an S3-compatible bucket; credentials come from the usual AWS variables."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, prefix: str = "media/") -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, digest: str) -> str:
        return self.prefix + _check_key(digest)

    def put(self, stream: BinaryIO, content_type: str) -> str:
        digest = digest_of(stream)
        if not self.exists(digest):
            self.client.upload_fileobj(stream, self.bucket, self._key(digest), ExtraArgs={"ContentType": content_type})
        return digest

    def get(self, digest: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(digest))["Body"].read()

    def size(self, digest: str) -> int | None:
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=self._key(digest))["ContentLength"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def open_range(self, digest: str, start: int, stop: int) -> Iterator[bytes]:
        if stop <= start:
            return
        body = self.client.get_object(Bucket=self.bucket, Key=self._key(digest), Range=f"bytes={start}-{stop - 1}")[
            "Body"
        ]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def delete(self, digest: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(digest))

    def exists(self, digest: str) -> bool:
        return self.size(digest) is not None


def init_app(app: Flask) -> None:
    """Choose the backend from the configuration: S3 when a bucket is named, else the folder."""
    bucket = app.config.get("MEDIA_S3_BUCKET") or ""
    if bucket:
        store: MediaStore = S3Store(bucket, app.config.get("MEDIA_S3_ENDPOINT_URL") or None)
    else:
        root = app.config.get("MEDIA_ROOT") or os.path.join(app.instance_path, "media")
        store = FolderStore(Path(root))
    app.extensions["media_store"] = store


def media_store() -> MediaStore:
    return current_app.extensions["media_store"]
