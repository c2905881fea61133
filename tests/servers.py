"""Real processes for the fault and multi-server tests.

`ThrowawayPostgres` runs a PostgreSQL cluster of its own (initdb + pg_ctl on a
free port in a temporary directory) that a test may stop and start at will,
without touching the machine's database. `AppServer` runs the portal under
gunicorn in a separate process, configured only through environment variables
like in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
SECRET_KEY = "multi-server-test-secret-key-0123456789abcdef"  # noqa: S105 - test only


# These tests bring their own PostgreSQL, Redis use and app processes: nothing in them depends on
# the suite's database, so `make test` runs them once, in the SQLite pass, not again for PostgreSQL.
once_per_run = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="independent of TEST_DATABASE_URL; runs in the SQLite pass of make test",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class ThrowawayPostgres:
    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL server binaries not found in {PG_BIN}")
        self.dir = Path(tempfile.mkdtemp(prefix="holistiq-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)
        subprocess.run(
            _as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    pg.start()
    yield pg
    pg.destroy()


def prepare_database(url: str, setup) -> None:
    """Create the schema at ``url`` and run ``setup()`` inside an app bound to it."""
    from config import TestingConfig
    from portal.app import create_app
    from portal.extensions import db

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, SERVER_NAME="localhost")
    with app.app_context():
        db.create_all()
        setup()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


class AppServer:
    """The portal under gunicorn on its own port, configured by environment variables."""

    def __init__(self, database_url: str, redis_url: str = "", *, wait: bool = True, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "PORTAL_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # Cheap hashing keeps the test quick; the hashes come from the test factories anyway.
            "ARGON2_TIME_COST": "1",
            "ARGON2_MEMORY_COST": "1024",
            "ARGON2_PARALLELISM": "1",
            "MAIL_SERVER": "",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        environment.pop("TEST_DATABASE_URL", None)
        self.env = environment
        self.log = tempfile.NamedTemporaryFile(prefix="holistiq-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if wait:
            self.wait_until_up()

    def wait_until_up(self, timeout: float = 60) -> None:
        # Generous: on a loaded CI machine two workers importing the app can take tens of seconds.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                requests.get(self.url + "/healthz", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"app server did not start: {Path(self.log.name).read_text()[-2000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def form_token(session: requests.Session, url: str) -> str:
    import re

    html = session.get(url, timeout=10).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def post_login(session: requests.Session, base: str, email: str, password: str) -> requests.Response:
    token = form_token(session, base + "/login")
    return session.post(
        base + "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
