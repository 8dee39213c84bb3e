"""Retraining from Telegram: corpora, the training subprocess, comparison and hot swap."""
