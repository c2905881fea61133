"""Imports the feature modules that register demo seeding steps (in order)."""
