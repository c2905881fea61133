"""A fake Twilio-compatible SMS provider for the tests: a real HTTP server on 127.0.0.1 in a thread.

It accepts ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with HTTP Basic auth (the account SID and
auth token it was given) and the form fields To, From, Body, and records every request it gets (with
whether its auth was right), so a test reads exactly what went over the wire. Wrong auth → 401, like the
real API; ``fail = True`` answers 503.

    from tests.sms_server import sms_provider_fixture  # noqa: F401  (the sms_provider fixture)
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "fake-auth-token-for-tests"  # noqa: S105 - the fake provider's own secret
SENDER = "+12145550199"


@dataclass
class Received:
    path: str
    auth_ok: bool
    form: dict[str, str]


@dataclass
class FakeSMSProvider:
    sid: str
    token: str
    received: list[Received] = field(default_factory=list)
    fail: bool = False
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def messages(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.auth_ok]

    def bodies(self) -> list[str]:
        return [r.form.get("Body", "") for r in self.messages()]


def _handler(provider: FakeSMSProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            expected = "Basic " + base64.b64encode(f"{provider.sid}:{provider.token}".encode()).decode()
            auth_ok = self.headers.get("Authorization") == expected
            with provider.lock:
                provider.received.append(Received(self.path, auth_ok, form))
            path_ok = self.path == f"/2010-04-01/Accounts/{provider.sid}/Messages.json"
            if not auth_ok:
                status, payload = 401, {"code": 20003, "message": "Authenticate"}
            elif not path_ok:
                status, payload = 404, {"message": "not found"}
            elif provider.fail:
                status, payload = 503, {"message": "unavailable"}
            else:
                status, payload = 201, {"sid": f"SM{len(provider.received):032d}", "status": "queued"}
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # quiet
            pass

    return Handler


def start_fake_provider() -> FakeSMSProvider:
    """A fake provider serving on a free port of 127.0.0.1 until ``provider.server.shutdown()``."""
    provider = FakeSMSProvider(SID, TOKEN)
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    threading.Thread(target=provider.server.serve_forever, daemon=True).start()
    return provider


@pytest.fixture(name="sms_provider")
def sms_provider_fixture(app) -> Iterator[FakeSMSProvider]:
    """A running fake provider, and the app's SMS_* settings pointed at it for this test."""
    provider = start_fake_provider()
    saved = {k: app.config.get(k) for k in ("SMS_API_URL", "SMS_ACCOUNT_SID", "SMS_AUTH_TOKEN", "SMS_FROM")}
    app.config.update(SMS_API_URL=provider.url, SMS_ACCOUNT_SID=SID, SMS_AUTH_TOKEN=TOKEN, SMS_FROM=SENDER)
    try:
        yield provider
    finally:
        app.config.update(saved)
        provider.server.shutdown()
        provider.server.server_close()
