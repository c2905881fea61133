"""The care domain: plans, check-ins, alerts and their rules, shared by the patient and coach pages."""
