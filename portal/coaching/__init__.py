"""Coaching: programs, plans, the roster, patient review and alerts."""
