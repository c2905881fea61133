"""The patient's own pages: Today, check-ins, progress, calendar and export."""
