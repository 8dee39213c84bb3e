"""The PyTorch side of the bot: vocabulary, network, training, sampling, checkpoints, engine.

Nothing in this package knows about Telegram or SQL; the bot talks to it through the
engine's async API and the checkpoint format.
"""
