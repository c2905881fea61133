"""`python -m bench.data --patients N --days D` (see bench/README.md)."""

from bench.data.cli import main

main()
