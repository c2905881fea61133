"""Outcomes: the practice's and each coach's cohort figures, charts and downloads."""
