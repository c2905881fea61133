"""A local web push service for the tests: a real HTTP server on 127.0.0.1 in a thread, playing the browser's
push service (FCM, Mozilla's autopush) and the browser itself.

``service.subscription()`` makes a browser's subscription (the JSON of ``PushSubscription.toJSON()``): a fresh
P-256 key pair and auth secret, and an endpoint on this server. Each POST it gets is checked as a push service
and a browser would: the VAPID ``Authorization: vapid t=<JWT>, k=<key>`` header (the ES256 signature verified
with the key, the key compared with the portal's public key, ``aud`` the endpoint's origin, ``exp`` in the next
24 hours, ``sub`` a mailto: or https: contact), ``Content-Encoding: aes128gcm`` and a ``TTL``, and the ``Urgency``
is recorded; the body is then decrypted with the subscription's private key (http_ece, RFC 8188/8291). Each endpoint answers 201 unless a
test sets another status (410: the subscription is gone), or a redirect.

    from tests.push_server import push_service_fixture  # noqa: F401  (the push_service fixture)
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from portal.push import application_server_key


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    """One POST, as the push service saw it, and what the browser would have read from it."""

    path: str
    headers: dict[str, str]
    vapid_ok: bool
    vapid_problem: str
    claims: dict
    payload: dict | None  # the decrypted JSON (None when it did not decrypt)
    # The Urgency header (RFC 8030: very-low, low, normal, high); a request without one is "normal" to a push
    # service, recorded as None here so a test sees whether the portal said it.
    urgency: str | None = None


@dataclass
class Browser:
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    def subscription(self) -> dict:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": _b64url(public), "auth": _b64url(self.auth)},
        }


@dataclass
class PushService:
    expected_key: str  # the portal's VAPID public key, base64url
    browsers: dict[str, Browser] = field(default_factory=dict)  # by path
    status: dict[str, int] = field(default_factory=dict)  # path -> status to answer (default 201)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location to answer with 307
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def subscription(self, host: str | None = None) -> dict:
        """A new browser's subscription with an endpoint on this service (``host`` instead of 127.0.0.1)."""
        path = f"/push/{_b64url(os.urandom(12))}"
        origin = self.origin if host is None else self.origin.replace("127.0.0.1", host)
        browser = Browser(origin + path, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))
        self.browsers[path] = browser
        return browser.subscription()

    def path_of(self, subscription: dict) -> str:
        return "/" + subscription["endpoint"].split("/", 3)[3]

    def messages(self) -> list[Received]:
        """The notifications a browser received: correctly signed and decrypted."""
        with self.lock:
            return [r for r in self.received if r.vapid_ok and r.payload is not None]

    def wait_for(self, count: int, timeout: float = 10.0, poll=None) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.messages()) < count and time.monotonic() < deadline:
            if poll is not None:
                poll()
            time.sleep(0.1)
        return self.messages()

    def check_vapid(self, authorization: str, path: str) -> tuple[bool, str, dict]:
        """RFC 8292: ``vapid t=<JWT signed ES256>, k=<the server's public key>``."""
        if not authorization.startswith("vapid "):
            return False, "no vapid scheme", {}
        parts = dict(part.strip().split("=", 1) for part in authorization[len("vapid ") :].split(","))
        token, key = parts.get("t", ""), parts.get("k", "")
        if key != self.expected_key:
            return False, "not the portal's key", {}
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(_unb64url(header_b64))
            claims = json.loads(_unb64url(claims_b64))
            signature = _unb64url(signature_b64)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(key))
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, InvalidSignature) as error:
            return False, f"bad token: {type(error).__name__}", {}
        if header.get("alg") != "ES256":
            return False, "not ES256", claims
        if claims.get("aud") != self.origin_of(path):
            return False, f"aud {claims.get('aud')!r}", claims
        if not (time.time() < int(claims.get("exp", 0)) <= time.time() + 24 * 3600):
            return False, "exp out of range", claims
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            return False, "no sub", claims
        return True, "", claims

    def origin_of(self, path: str) -> str:
        browser = self.browsers.get(path)
        return browser.endpoint.rsplit(path, 1)[0] if browser else self.origin


def _handler(service: PushService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            ok, problem, claims = service.check_vapid(headers.get("authorization", ""), self.path)
            payload = None
            browser = service.browsers.get(self.path)
            if browser is not None and headers.get("content-encoding") == "aes128gcm" and "ttl" in headers:
                try:
                    clear = http_ece.decrypt(
                        body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm"
                    )
                    payload = json.loads(clear)
                except Exception:  # noqa: BLE001 - anything that does not decrypt is recorded as such
                    payload = None
            with service.lock:
                service.received.append(
                    Received(self.path, headers, ok, problem, claims, payload, headers.get("urgency"))
                )
            if self.path in service.redirects:
                self.send_response(307)
                self.send_header("Location", service.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = service.status.get(self.path, 201) if browser is not None else 404
            if status == 201 and not ok:
                status = 403  # what a push service answers a wrong or missing VAPID signature
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler


def start_push_service(expected_key: str) -> PushService:
    """A push service on a free port of 127.0.0.1 until ``service.server.shutdown()``."""
    service = PushService(expected_key)
    service.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(service))
    threading.Thread(target=service.server.serve_forever, daemon=True).start()
    return service


@pytest.fixture(name="push_service")
def push_service_fixture(app) -> Iterator[PushService]:
    """A running local push service, and the app allowed to post to local endpoints for this test."""
    service = start_push_service(application_server_key(app))
    saved = app.config.get("PUSH_ALLOW_LOCAL_ENDPOINTS")
    app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = True
    try:
        yield service
    finally:
        app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] = saved
        service.server.shutdown()
        service.server.server_close()
