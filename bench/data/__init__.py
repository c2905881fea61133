"""The benchmark's large, realistic data set: `python -m bench.data --patients N --days D`.

N patients over the three clinics and N/200 coaches, each patient with an
active plan of 6-10 library items, D days of check-ins (with gaps, slow trends
and noise), item logs, weekly PEG scores, a few alerts and some messages.

Rows are built as plain tuples and written in bulk: COPY on PostgreSQL, Core
``insert()`` executemany in large chunks elsewhere. Primary keys are assigned
here (from the current maximum) so child rows can point at their parents
without reading anything back; PostgreSQL sequences are moved past them at the
end. Everything is one transaction: a failed run leaves nothing behind.

It is not a `flask` command on purpose: production's command list holds only
what production runs.
"""

from bench.data.cli import bench_data_command, main
from bench.data.generator import BenchDataError, generate
from bench.data.people import EMAIL_DOMAIN
from bench.data.writer import Counts

__all__ = ["EMAIL_DOMAIN", "BenchDataError", "Counts", "bench_data_command", "generate", "main"]
