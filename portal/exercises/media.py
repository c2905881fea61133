"""A library item's own picture or video: checking an upload, storing it, replacing and removing it.

The type is decided from the file's bytes, never from its name or the browser's claim. Pictures
are decoded and re-encoded by Pillow, which drops EXIF and GPS data and any bytes that are not the
image, and are resized to at most 1600 px with a small thumbnail. Videos are stored as sent, but only
once their container (MP4 or WebM, as its signature announces) has been parsed by FFmpeg's demuxer for
that one format (through PyAV) and its first video frame decoded: a file that merely begins like a
video (an ``ftyp`` box followed by a web page) is refused.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal import audit
from portal.errors import BadInput
from portal.exercises.library import require_manage
from portal.exercises.models import LibraryItem
from portal.extensions import db
from portal.mediastore import media_store

MB = 1024 * 1024
PICTURE_LIMIT = 10 * MB
VIDEO_LIMIT = 100 * MB
# The largest request an upload route accepts: the biggest video plus the form around it.
UPLOAD_REQUEST_LIMIT = VIDEO_LIMIT + MB
MAX_SIDE = 1600
THUMB_SIDE = 320
# A picture this many pixels is refused before decoding (a small file can claim a huge canvas).
MAX_PIXELS = 50_000_000

PICTURE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
VIDEO_TYPES = {"video/mp4", "video/webm"}
# The one FFmpeg demuxer each accepted type is read with (never FFmpeg's guess among all it knows).
DEMUXERS = {"video/mp4": "mp4", "video/webm": "webm"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4", "video/webm": "webm"}


class MediaTooLarge(BadInput):
    """An upload over its type's limit: answered as 413."""


@dataclass(frozen=True)
class Prepared:
    """An upload checked and ready to store."""

    kind: str  # "picture" or "video"
    content_type: str
    body: BinaryIO
    thumbnail: bytes | None = None


def extension_for(content_type: str) -> str:
    return EXTENSIONS.get(content_type, "bin")


def _stream_size(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def video_type(head: bytes) -> str | None:
    """The video type a file's first bytes announce, or None."""
    # MP4 (ISO base media): a box size, then "ftyp" and a brand.
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    # WebM: the EBML magic number, and the "webm" doctype in the header that follows.
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "video/webm"
    return None


def check_video(stream: BinaryIO, content_type: str) -> None:
    """Parse the container with its one demuxer and decode the first video frame; BadInput when that fails."""
    # PyAV (FFmpeg) costs each web server process ~18 MB; only a video upload needs it.
    import av  # import-in-function: loaded by the first video upload, not by every web worker

    bad = BadInput(_("This video could not be read. Please upload an MP4 or WebM video."))
    try:
        with av.open(stream, mode="r", format=DEMUXERS[content_type]) as container:
            if not container.streams.video:
                raise bad
            frame = next(container.decode(video=0), None)
            if frame is None or frame.width <= 0 or frame.height <= 0:
                raise bad
    except BadInput:
        raise
    except (av.FFmpegError, OSError, ValueError, EOFError, StopIteration):
        raise bad from None
    finally:
        stream.seek(0)


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif image_format == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _prepare_picture(data: bytes) -> Prepared:
    bad = BadInput(_("This picture could not be read. Please upload a JPEG, PNG or WebP photo."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in PICTURE_FORMATS:
                raise bad
            if probe.width * probe.height > MAX_PIXELS:
                raise bad
            probe.verify()  # checks the file's structure; the image must be reopened after
            image = Image.open(io.BytesIO(data))
            image_format = image.format
            image.load()
    except BadInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning):
        raise bad from None
    # Phones store a rotation in EXIF: apply it, since the EXIF itself is not kept.
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    body = _encode(image, image_format)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    return Prepared("picture", PICTURE_FORMATS[image_format], io.BytesIO(body), _encode(thumb, image_format))


def prepare_upload(stream: BinaryIO) -> Prepared:
    """Check an uploaded file by its content and size; BadInput (or MediaTooLarge) when refused."""
    size = _stream_size(stream)
    if size == 0:
        raise BadInput(_("The file is empty. Please choose a picture or a video."))
    head = stream.read(64)
    stream.seek(0)
    content_type = video_type(head)
    if content_type is not None:
        if size > VIDEO_LIMIT:
            raise MediaTooLarge(_("This video is larger than 100 MB. Please upload a shorter clip."))
        check_video(stream, content_type)
        return Prepared("video", content_type, stream)
    if size > PICTURE_LIMIT:
        raise MediaTooLarge(_("This picture is larger than 10 MB. Please upload a smaller photo."))
    if not head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")) and not (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    ):
        raise BadInput(
            _("This file is not a picture or video we accept: JPEG, PNG or WebP pictures, MP4 or WebM videos.")
        )
    return _prepare_picture(stream.read())


def _unused(digest: str | None, item: LibraryItem) -> bool:
    """Whether no other item shows this object (duplicated items share their media)."""
    if not digest:
        return False
    others = db.session.scalar(
        db.select(db.func.count(LibraryItem.id)).where(
            LibraryItem.id != item.id,
            db.or_(LibraryItem.media_digest == digest, LibraryItem.media_thumb_digest == digest),
        )
    )
    return not others


def _forget_objects(item: LibraryItem, digests: tuple[str | None, str | None]) -> None:
    store = media_store()
    for digest in digests:
        if digest and digest not in (item.media_digest, item.media_thumb_digest) and _unused(digest, item):
            store.delete(digest)


def attach_media(item: LibraryItem, prepared: Prepared, actor) -> None:
    """Store a checked upload and make it the item's picture or video, replacing any earlier one."""
    require_manage(actor, item)
    store = media_store()
    digest = store.put(prepared.body, prepared.content_type)
    thumb_digest = store.put(io.BytesIO(prepared.thumbnail), prepared.content_type) if prepared.thumbnail else None
    previous = (item.media_digest, item.media_thumb_digest)
    replaced = item.media_digest is not None
    item.media_kind = prepared.kind
    item.media_type = prepared.content_type
    item.media_digest = digest
    item.media_thumb_digest = thumb_digest
    audit.record(
        "library.media_replace" if replaced else "library.media_add",
        item,
        actor=actor,
        title=item.title,
        kind=prepared.kind,
        content_type=prepared.content_type,
    )
    _forget_objects(item, previous)


def remove_media(item: LibraryItem, actor) -> bool:
    """Take the item's picture or video away; False when it had none."""
    require_manage(actor, item)
    if item.media_digest is None:
        return False
    previous = (item.media_digest, item.media_thumb_digest)
    audit.record("library.media_remove", item, actor=actor, title=item.title, kind=item.media_kind)
    item.media_kind = item.media_type = item.media_digest = item.media_thumb_digest = None
    _forget_objects(item, previous)
    return True
