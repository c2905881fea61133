"""Admin area: accounts, clinics and the audit log."""
