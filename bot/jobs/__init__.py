"""Training jobs on a PostgreSQL job queue (issue 12a)."""
