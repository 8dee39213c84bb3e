"""Operations: start-up checks, the first model, and the ``migrate``/``healthcheck`` CLI."""
