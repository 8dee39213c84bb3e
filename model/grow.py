"""Growing a trained model's vocabulary, so fine-tuning can start from it.

char-rnn refuses a text with a different vocabulary, torch-rnn does not check, and
textgenrnn silently drops the new characters. Here the new vocabulary is the old one
with the new characters appended (:meth:`Vocabulary.extended`), so every old
character keeps its id, its embedding row and its output row, copied bit for bit; the
LSTM is copied whole. A new character gets a fresh embedding row (drawn like
``nn.Embedding``'s, from a generator seeded by the caller, so runs repeat) and an
output row of zeros with the lowest output bias the old model has: before training it
is about as unlikely as the rarest known character, so the grown model writes like the
old one until the new text teaches it otherwise.
"""

from __future__ import annotations

import torch

from model.network import CharGenerator
from model.vocab import Vocabulary


def grow(
    model: CharGenerator,
    old: Vocabulary,
    new: Vocabulary,
    seed: int = 0,
    dropout: float = 0.0,
    weight_drop: float = 0.0,
) -> CharGenerator:
    """A copy of ``model`` over ``new``, which must start with ``old``'s characters in order."""
    if new.itos[: len(old)] != old.itos:
        raise ValueError("the new vocabulary must begin with the old one, in the same order")
    cfg = model.config
    grown = CharGenerator(
        len(new), cfg.embed_size, cfg.hidden_size, cfg.num_layers, dropout, weight_drop
    )
    n_old, n_new = len(old), len(new) - len(old)
    source = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        state = grown.state_dict()
        for key, value in source.items():
            if key.startswith("lstm."):
                state[key] = value.clone()
        embed = torch.empty(len(new), cfg.embed_size)
        embed[:n_old] = source["embed.weight"]
        embed[n_old:] = torch.randn(n_new, cfg.embed_size, generator=gen)
        weight = torch.zeros(len(new), cfg.hidden_size)
        weight[:n_old] = source["fc.weight"]
        bias = torch.empty(len(new))
        bias[:n_old] = source["fc.bias"]
        bias[n_old:] = source["fc.bias"].min() if n_old else 0.0
        state["embed.weight"], state["fc.weight"], state["fc.bias"] = embed, weight, bias
        grown.load_state_dict(state)
    return grown
