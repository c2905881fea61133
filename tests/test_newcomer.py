"""The README's first steps, run as a newcomer runs them: `make run` on another port, `make demo-code`.

Real processes (make, a fresh Python), with the environment a shell would give them.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pyotp

from portal.demo.accounts import DEMO_TOTP_SECRET
from tests.servers import ROOT, once_per_run

pytestmark = once_per_run


def _shell_env(**extra: str) -> dict[str, str]:
    """A shell without the project's virtualenv activated and without the test settings."""
    venv_bin = str(ROOT / ".venv" / "bin")
    path = os.pathsep.join(part for part in os.environ.get("PATH", "").split(os.pathsep) if part != venv_bin)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PUBLIC_BASE_URL", "PORT", "TEST_DATABASE_URL", "PORTAL_ENV")
    }
    return {**env, "PATH": path, **extra}


def test_make_run_passes_the_port_on():
    """`make run` hands PORT to the portal as well as to `flask run`."""
    plan = subprocess.run(  # noqa: S603 - fixed arguments
        ["make", "-n", "run", "PORT=5102"], cwd=ROOT, env=_shell_env(), capture_output=True, text=True, check=True
    ).stdout
    [serve] = [line for line in plan.splitlines() if "flask run" in line]
    assert "PORT=5102 " in serve and "--port 5102" in serve


def test_links_follow_the_port_unless_a_public_base_url_is_set(tmp_path):
    """Emailed, printed and calendar links are built on PUBLIC_BASE_URL, which defaults to the served port."""
    script = (
        "from portal.app import create_app\n"
        "from portal.mail import public_url\n"
        "app = create_app('development')\n"
        "with app.app_context():\n"
        "    print(public_url('patients.checkin'))\n"
    )
    database = f"sqlite:///{tmp_path / 'portal.sqlite3'}"

    def link(**extra: str) -> str:
        run = subprocess.run(  # noqa: S603 - fixed arguments
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=_shell_env(DATABASE_URL=database, **extra),
            capture_output=True,
            text=True,
            check=True,
        )
        return run.stdout.strip().splitlines()[-1]

    assert link(PORT="5102") == "http://127.0.0.1:5102/me/checkin"
    assert link() == "http://127.0.0.1:5000/me/checkin"
    assert link(PORT="5102", PUBLIC_BASE_URL="https://coach.example") == "https://coach.example/me/checkin"


def test_make_demo_code_prints_the_current_code_without_an_activated_virtualenv():
    before = pyotp.TOTP(DEMO_TOTP_SECRET).now()
    run = subprocess.run(  # noqa: S603 - fixed arguments
        ["make", "-s", "demo-code"], cwd=ROOT, env=_shell_env(), capture_output=True, text=True, timeout=300
    )
    after = pyotp.TOTP(DEMO_TOTP_SECRET).now()
    assert run.returncode == 0, run.stderr[-2000:]
    code = run.stdout.strip().splitlines()[-1]
    assert code in (before, after) and len(code) == 6 and code.isdigit()
