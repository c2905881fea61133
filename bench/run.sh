#!/usr/bin/env bash
# `make bench`: install what the benchmark needs, then run it (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "Installing Debian's wrk for the load benchmark"
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk >/dev/null
fi

if [ ! -x .venv/bin/gunicorn ] || [ ! -x .venv/bin/pyinstrument ]; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet -r requirements-dev.txt
fi

# PostgreSQL is needed only when it is one of the engines measured (SQLite needs no server).
case ",${BENCH_ENGINES:-postgresql,sqlite}," in
    *,postgresql,*)
        PG_URL="${BENCH_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
        if ! .venv/bin/python -c "import psycopg, sys; psycopg.connect(sys.argv[1]).close()" "$PG_URL" 2>/dev/null; then
            echo "PostgreSQL is not reachable at $PG_URL; start it, set BENCH_PG_URL, or BENCH_ENGINES=sqlite." >&2
            exit 2
        fi
        ;;
esac

exec .venv/bin/python bench/bench.py "$@"
