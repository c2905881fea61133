"""The development server (`flask run`, as `make run` starts it) never logs a link's token.

Run as a real process: its access log goes to the terminal, where a reset or
invitation token in a query string would sit in plain sight.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.servers import ROOT, SECRET_KEY, free_port, once_per_run, prepare_database

pytestmark = once_per_run
SECRET = "tok-SECRET-4f1c9a7e2b"


def test_flask_run_logs_paths_without_query_strings(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    prepare_database(url, lambda: None)
    port = free_port()
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "PORTAL_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "MAIL_LOG_BODIES": "1",
        "LOG_LEVEL": "INFO",
    }
    env.pop("TEST_DATABASE_URL", None)
    log = tempfile.NamedTemporaryFile(prefix="flask-run-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.RequestException:
                assert process.poll() is None and time.monotonic() < deadline, Path(log.name).read_text()[-2000:]
                time.sleep(0.2)
        first = requests.get(f"{base}/password/reset?token={SECRET}", allow_redirects=False, timeout=10)
        assert first.status_code == 302 and SECRET not in first.headers["Location"]
        requests.get(f"{base}/invitation?token={SECRET}", timeout=10)
        requests.get(f"{base}/login?next=/me/&token={SECRET}", timeout=10)
        time.sleep(0.5)  # let the server write its log lines
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
    text = Path(log.name).read_text()
    Path(log.name).unlink(missing_ok=True)
    assert "GET /password/reset" in text and "GET /invitation" in text  # the access log is on
    assert SECRET not in text
