"""Where the bench-only pages are served (bench/portal_app.py adds them; bench.py measures them)."""

MINIMAL_PATH = "/bench/minimal"
