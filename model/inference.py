"""The single LSTM step used by sampling and by the engine, and the sampling decision.

Sampling is Gumbel-max: ``argmax(logits / T + g)`` with ``g ~ Gumbel(0, 1)`` draws from
``softmax(logits / T)``, exactly the distribution of the reference's
``torch.multinomial(softmax(logits / T))``, but with the noise supplied from outside
(see :mod:`model.rng`), so a request samples the same text alone or in a batch, and the
drawn index stays on the device (no ``.item()`` per character).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model.network import CharGenerator


class StepWeights:
    """The network's weights, laid out for a fast one-character step."""

    def __init__(self, model: CharGenerator) -> None:
        lstm = model.lstm
        self.num_layers = lstm.num_layers
        self.hidden_size = lstm.hidden_size
        self.vocab_size = model.config.vocab_size
        self.device = model.embed.weight.device
        self.embed = model.embed.weight.detach()
        self.layers: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = [
            (
                getattr(lstm, f"weight_ih_l{i}").detach(),
                getattr(lstm, f"weight_hh_l{i}").detach(),
                getattr(lstm, f"bias_ih_l{i}").detach(),
                getattr(lstm, f"bias_hh_l{i}").detach(),
            )
            for i in range(self.num_layers)
        ]
        self.fc_weight = model.fc.weight.detach()
        self.fc_bias = model.fc.bias.detach()

    def zero_state(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.num_layers, batch, self.hidden_size)
        return (
            torch.zeros(shape, device=self.device),
            torch.zeros(shape, device=self.device),
        )

    def step(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Advance every row by the characters ``x`` (shape ``(B,)``); returns logits, h, c.

        ``h``/``c`` have the nn.LSTM layout ``(layers, B, hidden)`` and are not modified.
        """
        inp = F.embedding(x, self.embed)
        hs: list[torch.Tensor] = []
        cs: list[torch.Tensor] = []
        for layer, (w_ih, w_hh, b_ih, b_hh) in enumerate(self.layers):
            h1, c1 = torch.lstm_cell(inp, (h[layer], c[layer]), w_ih, w_hh, b_ih, b_hh)
            hs.append(h1)
            cs.append(c1)
            inp = h1
        logits = F.linear(inp, self.fc_weight, self.fc_bias)
        if self.num_layers == 1:
            return logits, hs[0].unsqueeze(0), cs[0].unsqueeze(0)
        return logits, torch.stack(hs), torch.stack(cs)


def top_k_mask(logits: torch.Tensor, top_k: torch.Tensor) -> torch.Tensor:
    """Set every logit below its row's k-th largest to -inf (``top_k`` shape ``(B,)``).

    A row whose k is 0 or at least the vocabulary size is left untouched.
    """
    vocab = logits.shape[-1]
    k = torch.where((top_k <= 0) | (top_k > vocab), vocab, top_k)
    ordered = logits.sort(dim=-1, descending=True).values
    threshold = ordered.gather(-1, (k - 1).unsqueeze(-1))
    return logits.masked_fill(logits < threshold, float("-inf"))


def choose(
    logits: torch.Tensor,
    inv_temperature: torch.Tensor,
    noise: torch.Tensor,
    top_k: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw one character per row: ``logits`` (B, V), ``inv_temperature`` (B, 1)."""
    scaled = logits * inv_temperature
    if top_k is not None:
        scaled = top_k_mask(scaled, top_k)
    return (scaled + noise).argmax(dim=-1)
