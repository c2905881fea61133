#!/usr/bin/env bash
# Rebuild the single initial migration from the models (the schema has not shipped
# yet, so one migration describes it). Run after changing any model.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -f migrations/versions/*.py
DATABASE_URL="sqlite:///$tmp/regen.sqlite3" FLASK_APP=wsgi .venv/bin/flask db migrate -m "initial schema" >/dev/null 2>&1
DATABASE_URL="sqlite:///$tmp/regen.sqlite3" FLASK_APP=wsgi .venv/bin/flask db upgrade >/dev/null 2>&1
echo "Regenerated: $(ls migrations/versions)"
