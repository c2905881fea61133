"""Holistiq Coach: a coaching portal for people recovering from back muscle spasms (the app factory is portal.app.create_app)."""
