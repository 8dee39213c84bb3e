"""``python -m bot.trainer``: a training worker that takes runs from the job queue."""
