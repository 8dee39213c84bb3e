"""Errors a user of the model package can cause, each with a message fit to show them."""


class ModelError(Exception):
    """Base class: the message is a complete, human-readable sentence."""


class CorpusError(ModelError):
    """The training text cannot be used (unreadable, not UTF-8, too short)."""


class SeedError(ModelError):
    """A seed that cannot be generated from (empty, or nothing left after dropping)."""


class CheckpointError(ModelError):
    """A checkpoint file that is missing, corrupt, or not one of ours."""


class SamplingError(ModelError):
    """Sampling parameters out of range (temperature, top-k, length)."""
