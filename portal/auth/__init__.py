"""Accounts: sign-in, passwords, two-step codes and access control."""
