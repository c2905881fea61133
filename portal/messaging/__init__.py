"""Secure messages, notification emails and reminders."""
