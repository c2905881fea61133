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
import asyncio
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
        slow = self.fail_flag.with_name("SLOW")
        if slow.exists():
            # A slow relay: what makes sending inside a request visible in its response time.
            await asyncio.sleep(float(slow.read_text() or "0"))
        if self.fail_flag.exists():
            return "451 4.3.0 Temporary failure, try again later"
        with self.lock:
            n = next(self.counter)
        tmp = self.outbox / f".{n}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        # Rename last so a reader never sees half a message.
        tmp.rename(self.outbox / f"{n:05d}.eml")
        return "250 OK"


def serve(
    port: int,
    outbox: Path,
    username: str | None,
    password: str | None,
    cert: Path | None = None,
    key: Path | None = None,
) -> None:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    outbox.mkdir(parents=True, exist_ok=True)
    handler = FileHandler(outbox, outbox / "FAIL")
    kwargs: dict = {}
    if username:

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == username and auth_data.password.decode() == password
            return AuthResult(success=ok)

        # Without TLS, plain-text AUTH is accepted: fine on a loopback test server only.
        kwargs = {"authenticator": authenticator, "auth_require_tls": cert is not None}
    if cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        # Like a production relay: STARTTLS first, then AUTH, then mail.
        kwargs.update(tls_context=context, require_starttls=True)
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
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate: offer STARTTLS and require it")
    parser.add_argument("--tls-key", type=Path)
    args = parser.parse_args(argv)
    serve(args.port, args.outbox, args.username, args.password, args.tls_cert, args.tls_key)


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
    ca_file: Path | None = None  # the self-signed certificate, when the server speaks STARTTLS

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
        self.set_slow(0)

    def set_slow(self, seconds: float) -> None:
        """Make the server take ``seconds`` to accept each message (0: answer at once)."""
        flag = self.outbox / "SLOW"
        if seconds:
            flag.write_text(str(seconds))
        else:
            flag.unlink(missing_ok=True)

    def set_failing(self, failing: bool) -> None:
        """Make the server answer 451 to every message (or stop doing so)."""
        flag = self.outbox / "FAIL"
        if failing:
            flag.touch()
        else:
            flag.unlink(missing_ok=True)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 (openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def start_server(
    outbox: Path,
    username: str = "portal",
    password: str = "smtp-test-pass",  # noqa: S107 - test only
    tls: bool = False,
) -> SMTPServer:
    port = free_port()
    tls_args: list[str] = []
    ca_file = None
    if tls:
        certs = outbox.parent / f"{outbox.name}-certs"
        certs.mkdir(exist_ok=True)
        ca_file, key = make_certificate(certs)
        tls_args = ["--tls-cert", str(ca_file), "--tls-key", str(key)]
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
            *tls_args,
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
    return SMTPServer(port, outbox, username, password, process, ca_file)


def stop_server(server: SMTPServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()


_shared: dict[bool, SMTPServer] = {}


def shared_server(tls: bool = False) -> SMTPServer:
    """One server process (of each kind) for the whole test run, started on first use."""
    server = _shared.get(tls)
    if server is None or server.process.poll() is not None:
        import atexit
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="smtp-test-"))
        outbox = folder / "outbox"
        outbox.mkdir()
        server = _shared[tls] = start_server(outbox, tls=tls)
        atexit.register(lambda: (stop_server(server), shutil.rmtree(folder, ignore_errors=True)))
    return server


try:
    import pytest
except ImportError:  # pragma: no cover - the server process itself does not need pytest
    pytest = None

if pytest is not None:

    def _use_server(app, server: SMTPServer) -> Iterator[SMTPServer]:
        server.clear()
        settings = {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": server.port,
            "MAIL_USE_TLS": server.ca_file is not None,
            "MAIL_USERNAME": server.username,
            "MAIL_PASSWORD": server.password,
            "MAIL_TIMEOUT": 5,
        }
        saved = {key: app.config.get(key) for key in settings}
        app.config.update(settings)
        yield server
        app.config.update(saved)
        server.set_failing(False)

    @pytest.fixture(name="smtp_server")
    def smtp_server_fixture(app) -> Iterator[SMTPServer]:
        """The real SMTP server, emptied, with the app sending to it (AUTH on, no TLS)."""
        yield from _use_server(app, shared_server())

    @pytest.fixture(name="smtp_tls_server")
    def smtp_tls_server_fixture(app, monkeypatch) -> Iterator[SMTPServer]:
        """A real SMTP server that requires STARTTLS before AUTH; the app trusts its certificate."""
        server = shared_server(tls=True)
        # ssl.create_default_context() reads SSL_CERT_FILE, so the portal's unchanged
        # TLS code verifies the test certificate like any CA-signed one.
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield from _use_server(app, server)


if __name__ == "__main__":
    main()
