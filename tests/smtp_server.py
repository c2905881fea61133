"""A real SMTP server for the tests, run as a separate process.

`python -m tests.smtp_server --port 2525 --outbox DIR` serves SMTP on 127.0.0.1
(aiosmtpd) and stores every message it accepts as DIR/<n>.eml, so a test can
read exactly what went over the wire. With `--fail` it answers every message
with a temporary failure (451), like a mail server that is having a bad day.

The `smtp_server` fixture starts one such process for the test run and points
the app's MAIL_* settings at it; import it into a test module to use it:

    from tests.smtp_server import smtp_server_fixture  # noqa: F401  (the smtp_server fixture)
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# --- the server process ------------------------------------------------------


class FileHandler:
    """aiosmtpd handler: each accepted message becomes one .eml file."""

    def __init__(self, outbox: Path, fail_flag: Path) -> None:
        self.outbox = outbox
        self.fail_flag = fail_flag
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.fail_flag.exists():
            return "451 4.3.0 Temporary failure, try again later"
        with self.lock:
            n = next(self.counter)
        tmp = self.outbox / f".{n}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        # Rename last so a reader never sees half a message.
        tmp.rename(self.outbox / f"{n:05d}.eml")
        return "250 OK"


def serve(port: int, outbox: Path, username: str | None, password: str | None) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    outbox.mkdir(parents=True, exist_ok=True)
    handler = FileHandler(outbox, outbox / "FAIL")
    kwargs = {}
    if username:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == username and auth_data.password.decode() == password
            return AuthResult(success=ok)

        # Plain-text AUTH without TLS is fine on a loopback test server only.
        kwargs = {"authenticator": authenticator, "auth_require_tls": False}
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_kwargs=kwargs)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"SMTP test server on 127.0.0.1:{port}, writing to {outbox}", flush=True)
    stop.wait()
    controller.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--outbox", type=Path, required=True)
    parser.add_argument("--username")
    parser.add_argument("--password")
    args = parser.parse_args(argv)
    serve(args.port, args.outbox, args.username, args.password)


# --- the test side -----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SMTPServer:
    """Handle on the running server process and its outbox folder."""

    port: int
    outbox: Path
    username: str
    password: str
    process: subprocess.Popen = field(repr=False)

    def messages(self) -> list[EmailMessage]:
        """Every message received so far, oldest first."""
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(path.read_bytes()) for path in sorted(self.outbox.glob("*.eml"))]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages arrived (delivery is synchronous, so this is quick)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def clear(self) -> None:
        for path in self.outbox.glob("*.eml"):
            path.unlink()
        self.set_failing(False)

    def set_failing(self, failing: bool) -> None:
        """Make the server answer 451 to every message (or stop doing so)."""
        flag = self.outbox / "FAIL"
        if failing:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)


def start_server(outbox: Path, username: str = "portal", password: str = "smtp-test-pass") -> SMTPServer:  # noqa: S107
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [
            sys.executable,
            "-m",
            "tests.smtp_server",
            "--port",
            str(port),
            "--outbox",
            str(outbox),
            "--username",
            username,
            "--password",
            password,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("The SMTP test server did not start.") from None
            time.sleep(0.05)
    return SMTPServer(port, outbox, username, password, process)


def stop_server(server: SMTPServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()


_shared: SMTPServer | None = None


def shared_server() -> SMTPServer:
    """One server process for the whole test run, started on first use."""
    global _shared
    if _shared is None or _shared.process.poll() is not None:
        import atexit
        import shutil
        import tempfile

        outbox = Path(tempfile.mkdtemp(prefix="smtp-outbox-"))
        _shared = start_server(outbox)
        server = _shared
        atexit.register(lambda: (stop_server(server), shutil.rmtree(outbox, ignore_errors=True)))
    return _shared


try:
    import pytest
except ImportError:  # pragma: no cover - the server process itself does not need pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(name="smtp_server")
    def smtp_server_fixture(app) -> Iterator[SMTPServer]:
        """The real SMTP server, emptied, with the app sending to it (AUTH on, no TLS)."""
        server = shared_server()
        server.clear()
        settings = {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": server.port,
            "MAIL_USE_TLS": False,
            "MAIL_USERNAME": server.username,
            "MAIL_PASSWORD": server.password,
            "MAIL_TIMEOUT": 5,
        }
        saved = {key: app.config.get(key) for key in settings}
        app.config.update(settings)
        yield server
        app.config.update(saved)
        server.set_failing(False)


if __name__ == "__main__":
    main()
