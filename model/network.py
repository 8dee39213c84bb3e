"""The reference network: embedding -> LSTM -> linear over the vocabulary."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

Hidden = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    embed_size: int = 32
    hidden_size: int = 128
    num_layers: int = 1

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        return cls(
            **{k: int(data[k]) for k in ("vocab_size", "embed_size", "hidden_size", "num_layers")}
        )


class CharGenerator(nn.Module):
    """``dropout`` applies to the embedding and the LSTM output while training.

    It is not part of :class:`ModelConfig` (nor of the checkpoint): it has no weights and
    does nothing in ``eval()`` mode, so a model generates the same with or without it.
    At 0 (the reference) no dropout call is made at all, so the reference recipe draws
    exactly the same random numbers as before.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int = 32,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.0,
        weight_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if not (0.0 <= dropout < 1.0 and 0.0 <= weight_drop < 1.0):
            raise ValueError("dropout and weight_drop must be in [0, 1)")
        self.config = ModelConfig(vocab_size, embed_size, hidden_size, num_layers)
        self.dropout = dropout
        self.weight_drop = weight_drop
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, vocab_size)

    @classmethod
    def from_config(cls, config: ModelConfig) -> CharGenerator:
        return cls(config.vocab_size, config.embed_size, config.hidden_size, config.num_layers)

    def forward(self, x: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        if (self.dropout > 0 or self.weight_drop > 0) and self.training:
            emb = F.dropout(self.embed(x), self.dropout, training=True)
            out, (h, c) = self._recur(emb, hidden)
            return self.fc(F.dropout(out, self.dropout, training=True)), (h, c)
        out, (h, c) = self.lstm(self.embed(x), hidden)
        return self.fc(out), (h, c)

    def _recur(self, emb: torch.Tensor, hidden: Hidden | None) -> tuple[torch.Tensor, Hidden]:
        """The LSTM, its hidden-to-hidden weights dropped (DropConnect) when training.

        Dropping recurrent weights, one mask per batch, regularises what the state
        carries from one character to the next, where dropout on activations would
        disturb the memory itself (Merity et al., AWD-LSTM).
        """
        if self.weight_drop == 0:
            return self.lstm(emb, hidden)  # type: ignore[no-any-return]
        weights: dict[str, torch.Tensor] = dict(self.lstm.named_parameters())
        for name in weights:
            if name.startswith("weight_hh"):
                weights[name] = F.dropout(weights[name], self.weight_drop, training=True)
        return torch.func.functional_call(self.lstm, weights, (emb, hidden))  # type: ignore[no-any-return]
