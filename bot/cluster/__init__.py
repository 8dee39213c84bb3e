"""Several bot replicas sharing one PostgreSQL database.

Cluster mode is a PostgreSQL ``DATABASE_URL`` with ``WEBHOOK_URL`` set: N identical
``python -m bot`` processes behind a reverse proxy that spreads Telegram's webhook POSTs.
They share nothing but the database, which is also how they coordinate:

* :mod:`bot.cluster.locks`: PostgreSQL advisory locks, so that replicas starting together
  migrate one at a time and only one of them trains and registers the default model;
* :mod:`bot.cluster.versions`: LISTEN/NOTIFY (plus a periodic check) so that a version
  activated anywhere reaches every replica's engine;
* :mod:`bot.cluster.heartbeat`: each replica's row in ``replicas`` (what ``/models`` shows);
* per-user limits counted in PostgreSQL (:mod:`bot.storage.queries.limits`).

Single-process mode (SQLite, long polling) uses none of it but the periodic check.
"""
