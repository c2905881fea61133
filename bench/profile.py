"""Profile pages in-process with pyinstrument, against a database the benchmark kept.

    BENCH_KEEP_DB=1 BENCH_SETS=reference make bench       # leaves holistiq_bench_reference
    .venv/bin/python bench/profile.py postgresql://postgres@127.0.0.1:5432/holistiq_bench_reference \\
        patient-00001@bench.holistiq.example /me/ /me/progress

Prints the SQL statement count and mean time per request, then pyinstrument's tree
for each path (requests repeated --repeat times, after one warm-up request).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from pathlib import Path

import pyotp
from cryptography.fernet import Fernet
from pyinstrument import Profiler
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
# Run as a script (python bench/profile.py): the portal is imported from the project root.
sys.path.insert(0, str(ROOT))

from login import DEMO_PASSWORD, DEMO_TOTP_SECRET  # noqa: E402

from config import ProductionConfig  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.crypto import new_vapid_key  # noqa: E402
from portal.extensions import db  # noqa: E402

SHOW_ALL = os.environ.get("PROFILE_ALL") == "1"


class ProfilingConfig(ProductionConfig):
    """Production settings in-process: plain http, a throwaway key, quiet logs."""

    SECRET_KEY = secrets.token_urlsafe(48)
    # The key the database's secrets were stored with (the bench prints it when it keeps a database).
    DATA_ENCRYPTION_KEY = os.environ.get("DATA_ENCRYPTION_KEY") or Fernet.generate_key().decode()
    VAPID_PRIVATE_KEY = new_vapid_key()
    VAPID_SUBJECT = "mailto:bench@holistiq.example"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    FORCE_HTTPS = False
    LOG_LEVEL = "WARNING"


def sqlalchemy_url(database_url: str) -> str:
    """postgresql://... as the app's config spells it (psycopg 3)."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", database_url)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Profile portal pages with pyinstrument.")
    ap.add_argument("database_url")
    ap.add_argument("email")
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--sql", action="store_true", help="print each SQL statement of one request")
    ap.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each SQL statement of one request")
    ap.add_argument("--timing-only", action="store_true", help="the timing line of each path, without the profile")
    args = ap.parse_args(argv)

    # ProductionConfig.validate() asks for DATABASE_URL in the environment.
    os.environ["DATABASE_URL"] = args.database_url
    app = create_app(ProfilingConfig, SQLALCHEMY_DATABASE_URI=sqlalchemy_url(args.database_url))
    client = app.test_client()
    _login(client, args.email, DEMO_PASSWORD, DEMO_TOTP_SECRET)

    statements: list[str] = []
    captured: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append(statement)
        captured.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
    for path in args.paths:
        client.get(path)  # warm-up
        statements.clear()
        captured.clear()
        response = client.get(path)
        per_request = len(statements)
        if args.sql:
            for s in statements:
                print("  SQL:", " ".join(s.split())[:400])
        if args.explain:
            _explain(app, db, list(captured))
        # Unprofiled first: wall time includes waiting for PostgreSQL, CPU time is this
        # process only (steadier than wall time on a busy machine).
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.repeat):
            client.get(path)
        wall_ms = (time.perf_counter() - wall) * 1000 / args.repeat
        cpu_ms = (time.process_time() - cpu) * 1000 / args.repeat
        print(
            f"=== {path}: HTTP {response.status_code}, {per_request} SQL statements, "
            f"{wall_ms:.1f} ms/request wall, {cpu_ms:.1f} ms CPU in Python"
        )
        if args.timing_only:
            continue
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.repeat):
            client.get(path)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=SHOW_ALL))
    return 0


def _explain(app, db, captured: list[tuple[str, object]]) -> None:
    """EXPLAIN ANALYZE every SELECT of the request, with its real parameters."""
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = "\n      ".join(row[0] for row in cursor.fetchall())
                print("  SQL:", " ".join(statement.split())[:300])
                print("      " + plan)
        finally:
            raw.rollback()
            raw.close()


def _login(client, email: str, password: str, totp_secret: str) -> None:
    def token(html: str) -> str:
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)

    page = client.get("/login").get_data(as_text=True)
    reply = client.post("/login", data={"email": email, "password": password, "csrf_token": token(page)})
    if "two-factor" in reply.headers.get("Location", ""):
        page = client.get(reply.headers["Location"]).get_data(as_text=True)
        reply = client.post(
            "/login/two-factor", data={"code": pyotp.TOTP(totp_secret).now(), "csrf_token": token(page)}
        )
    if reply.status_code != 302:
        raise SystemExit(f"sign-in as {email} failed ({reply.status_code})")


if __name__ == "__main__":
    sys.exit(main())
