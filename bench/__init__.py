"""Load benchmark, profiler and large-data generator: dev-only, the app never imports it."""
