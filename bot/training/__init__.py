"""One training run from plan to registered model, shared by the bot and the trainer.

Planning, the training subprocess, judging the result against the active model,
storing checkpoints and corpora, and the job queue of cluster mode. Nothing here talks
to Telegram.
"""
