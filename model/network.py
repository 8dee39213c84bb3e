"""The reference network: embedding -> LSTM -> linear over the vocabulary."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
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
    def __init__(
        self, vocab_size: int, embed_size: int = 32, hidden_size: int = 128, num_layers: int = 1
    ) -> None:
        super().__init__()
        self.config = ModelConfig(vocab_size, embed_size, hidden_size, num_layers)
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(embed_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, vocab_size)

    @classmethod
    def from_config(cls, config: ModelConfig) -> CharGenerator:
        return cls(config.vocab_size, config.embed_size, config.hidden_size, config.num_layers)

    def forward(self, x: torch.Tensor, hidden: Hidden | None = None) -> tuple[torch.Tensor, Hidden]:
        out, (h, c) = self.lstm(self.embed(x), hidden)
        return self.fc(out), (h, c)
