"""Retraining from Telegram: starting a run for an admin, watching it, and reporting it."""
