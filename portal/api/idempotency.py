"""``Idempotency-Key`` on the API's creating POSTs: a repeated request gets the first answer, nothing twice.

A phone that loses the answer to "send this message" cannot tell whether it was sent. It
sends the request again with the same ``Idempotency-Key`` header, and the API answers
with the stored first answer (marked ``Idempotent-Replayed: true``) instead of sending the
message twice. The key is claimed (a row, unique per user and key) in the same
transaction as what the request creates, so two copies racing each other create one
thing: the second waits on the unique key and then replays. The same key with another
body is refused (422 ``idempotency_key_reused``). Keys are kept 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import Response, g, make_response, request
from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.api.problems import problems
from portal.errors import problem
from portal.extensions import db
from portal.timeutil import utcnow

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP = timedelta(hours=24)
MAX_KEY = 255
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII: a UUID, a ULID, any app's own scheme

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "A key of your choice (a UUID) for this one request. Sending the same request again with "
    "the same key (after a timeout, a lost answer) gets the first answer back, marked `Idempotent-Replayed: "
    "true`, and creates nothing twice. Keys are per user and kept 24 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": "^[\\x21-\\x7e]+$"},
}


class IdempotentRequest(db.Model):
    """A claimed key: who sent it, a digest of the request, and the answer given (once there is one)."""

    __tablename__ = "api_idempotent_request"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_api_idempotent_request_user_key"),
        Index("ix_api_idempotent_request_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None]
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def _digest() -> str:
    """The request's method, path and JSON body (key order ignored)."""
    try:
        body = json.dumps(request.get_json(silent=True), sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        body = request.get_data(as_text=True)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _stored(user_id: int, key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        db.select(IdempotentRequest).where(
            IdempotentRequest.user_id == user_id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at > utcnow() - KEEP,
        )
    )


def _replay(row: IdempotentRequest, digest: str) -> Response:
    if row.request_digest != digest:
        return problem(
            422,
            _("This Idempotency-Key was already used for another request. Use a new key for a new request."),
            code="idempotency_key_reused",
        )
    if row.status is None:  # the first request has not finished yet
        return problem(409, _("This request is still being handled. Try again in a moment."), code="conflict")
    response = Response(row.body, status=row.status, mimetype="application/json")
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _claim(user_id: int, key: str, digest: str) -> IdempotentRequest | None:
    """Claim the key in the request's transaction; None when another request holds it (then replay that one)."""
    db.session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.user_id == user_id, IdempotentRequest.created_at <= utcnow() - KEEP)
        .execution_options(synchronize_session=False)
    )
    row = IdempotentRequest(user_id=user_id, key=key, request_digest=digest)
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        return None
    return row


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Honour an ``Idempotency-Key`` header on a creating POST (after the token check: ``g.api_user``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not _KEY.match(key):
            return problem(
                400, _("The Idempotency-Key header must be 1 to 255 visible ASCII characters."), code="bad_request"
            )
        user_id, digest = g.api_user.id, _digest()
        found = _stored(user_id, key)
        if found is not None:
            return _replay(found, digest)
        row = _claim(user_id, key, digest)
        if row is None:
            db.session.rollback()
            found = _stored(user_id, key)
            return _replay(found, digest) if found is not None else problem(409, code="conflict")
        response = make_response(view(*args, **kwargs))
        if not 200 <= response.status_code < 300:
            db.session.rollback()  # the key goes with what failed: the same key may be tried again
            return response
        # The view committed the claim with what it created; the answer is stored for repeats.
        db.session.execute(
            db.update(IdempotentRequest)
            .where(IdempotentRequest.id == row.id)
            .values(status=response.status_code, body=response.get_data(as_text=True))
        )
        db.session.commit()
        return response

    return problems("idempotency_key_reused", "bad_request", "conflict")(wrapped)
