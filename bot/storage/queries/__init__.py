"""The queries, one module per subject; :class:`bot.storage.repository.Storage` composes them."""
