"""The Telegram side: configuration, application wiring, handlers, storage, retraining."""
