"""The batched one-character LSTM step shared by sampling and the engine, and the draw.

Sampling is Gumbel-max: ``argmax(logits / T + g)`` with ``g ~ Gumbel(0, 1)`` draws from
``softmax(logits / T)``, exactly the distribution of the reference's
``torch.multinomial(softmax(logits / T))``, but with the noise supplied from outside
(see :mod:`model.rng`), so a request samples the same text alone or in a batch, and the
drawn index stays on the device (no ``.item()`` per character).

**Same row, same bits, whatever the batch.** A fixed RNG seed must give the same text
from :func:`model.sample.sample` (one row) and from the engine (that row among hundreds).
Two things in a plain ``nn.LSTM``/``lstm_cell`` step break that: BLAS picks a different
kernel (so a different summation order) for a 1-row matrix product than for a 64-row one,
and PyTorch's CPU ``sigmoid`` computes the last few elements of a tensor with a scalar
formula that differs in the last bit from its vectorised one. So the step here

* pads every matrix product to a multiple of a *row granule*, probed once per weight
  shape and device (:func:`model.product.row_granule`), so that every batch size used
  gives each row the bits it gets alone;
* uses only element-wise operations whose result does not depend on where the element
  sits (``exp``, ``tanh``, ``reciprocal``, ``+``, ``*``, gathers): the gates' sigmoid is
  ``1 / (1 + exp(-z))`` and the candidate's tanh ``2 * sigmoid(2z) - 1`` (one ``exp``
  for all four gates), with the sign and the factor 2 folded exactly (powers of two)
  into the weights;
* looks the input projection up instead of multiplying: ``embedding @ W_ih + b_ih + b_hh``
  is one ``(vocab, 4*hidden)`` table, so a step is a gather, one matrix product of the
  hidden state with ``[W_fc; W_hh]`` (the next logits and the recurrent term together),
  and the cell arithmetic.

The results agree with ``nn.LSTM`` to float rounding (about 1e-7) of the weights the
products use: on x86 CPUs those are ``W_fc`` and ``W_hh`` rounded to float16 once
(:mod:`model.product` says why). They are not bitwise those of ``nn.LSTM``, and do not
need to be: the engine and ``sample`` share this step.
The granule is probed with this thread's torch thread count; the engine's worker runs
with one thread, and the tests check its texts against ``sample`` run with the default.
"""

from __future__ import annotations

import torch

from model.network import CharGenerator
from model.product import Product


class BoundStep:
    """The step bound to one state ``(h, c)``: buffers and views made once, so a step
    allocates nothing and slices nothing (in eager mode each costs microseconds)."""

    def __init__(self, weights: StepWeights, h: torch.Tensor, c: torch.Tensor) -> None:
        rows, hidden, vocab, dev = h.shape[1], weights.hidden_size, weights.vocab_size, h.device
        self.w = weights
        self.h, self.c = h, c
        self.h_layers, self.c_layers = list(h.unbind(0)), list(c.unbind(0))
        self.y = torch.empty(rows, vocab + 4 * hidden, device=dev)
        self.y_logits, self.rec = self.y[:, :vocab], self.y[:, vocab:]
        self.logits = torch.empty(rows, vocab, device=dev)
        self.gates = torch.empty(rows, 4 * hidden, device=dev)
        self.tanh_c = torch.empty(rows, hidden, device=dev)
        # Views of the gates in nn.LSTM's order (i, f, g, o).
        self.i, self.f, self.g, self.o = self.gates.chunk(4, dim=1)
        # Constants as 0-d tensors: a Python float costs a conversion per call.
        self.one = torch.tensor(1.0, device=dev)
        self.two = torch.tensor(2.0, device=dev)

    def head(self) -> torch.Tensor:
        """Logits of the current state (a buffer that the next call overwrites)."""
        self.w.top(self.h_layers[-1], self.y)
        return torch.add(self.y_logits, self.w.fc_b, out=self.logits)

    def advance(self, x: torch.Tensor) -> None:
        """Feed the characters ``x`` (shape ``(rows,)``); call after :meth:`head`, whose
        product holds the top layer's recurrent term. Updates the state in place."""
        w, gates, one, two = self.w, self.gates, self.one, self.two
        top = w.num_layers - 1
        for layer in range(w.num_layers):
            if layer == 0:
                torch.index_select(w.table, 0, x, out=gates)
            else:
                w.inputs[layer - 1](self.h_layers[layer - 1], gates)
                gates.add_(w.input_b[layer - 1])
            if layer == top:
                gates.add_(self.rec)
            else:
                gates.add_(w.recurrent[layer].fresh(self.h_layers[layer]))
            # Pre-activations are scaled by -1 (i, f, o) and -2 (g): one exp for all four.
            gates.exp_().add_(one).reciprocal_()  # sigmoid(z); sigmoid(2z) for g
            self.g.mul_(two).sub_(one)  # tanh(z) = 2 sigmoid(2z) - 1
            cell = self.c_layers[layer]
            cell.mul_(self.f).add_(self.g.mul_(self.i))
            torch.tanh(cell, out=self.tanh_c)
            torch.mul(self.o, self.tanh_c, out=self.h_layers[layer])


class StepWeights:
    """The network's weights, laid out for the batched one-character step.

    State is ``(h, c)`` in the ``nn.LSTM`` layout ``(layers, rows, hidden)`` where ``rows``
    is a multiple of :attr:`granule`; rows beyond the real batch are padding. Step a
    state through :meth:`bind`: ``logits = s.head()``, draw ``x`` from them, ``s.advance(x)``.
    """

    def __init__(self, model: CharGenerator, half: bool | None = None) -> None:
        """``half``: float16 weights in the products (None: where the device allows and
        the matrix is big enough to pay, as :mod:`model.product` decides)."""
        lstm = model.lstm
        self.num_layers = lstm.num_layers
        self.hidden_size = hid = lstm.hidden_size
        self.vocab_size = model.config.vocab_size
        self.device = model.embed.weight.device
        with torch.no_grad():
            # Gate order is nn.LSTM's (i, f, g, o). Scaling by -1 / -2 is exact.
            scale = torch.full((4 * hid, 1), -1.0, device=self.device)
            scale[2 * hid : 3 * hid] = -2.0

            def param(name: str) -> torch.Tensor:
                value: torch.Tensor = getattr(lstm, name)
                return value.detach().float()

            w_ih0 = param("weight_ih_l0")
            bias0 = param("bias_ih_l0") + param("bias_hh_l0")
            embed = model.embed.weight.detach().float()
            self.table = ((embed @ w_ih0.t() + bias0) * scale.t()).contiguous()
            # The products, in float16 weights where that pays (model.product).
            # Layers above the first: input weights and summed biases.
            self.inputs: list[Product] = []
            self.input_b: list[torch.Tensor] = []
            for layer in range(1, self.num_layers):
                w = param(f"weight_ih_l{layer}") * scale
                b = (param(f"bias_ih_l{layer}") + param(f"bias_hh_l{layer}")) * scale[:, 0]
                self.inputs.append(Product(w.t().contiguous(), half))
                self.input_b.append(b.contiguous())
            # Recurrent weights of the layers below the top one.
            self.recurrent = [
                Product((param(f"weight_hh_l{layer}") * scale).t().contiguous(), half)
                for layer in range(self.num_layers - 1)
            ]
            # The top layer: next logits and recurrent term in one product of the
            # (hidden, vocab + 4 * hidden) matrix.
            top = self.num_layers - 1
            fused = torch.cat(
                [model.fc.weight.detach().float(), param(f"weight_hh_l{top}") * scale]
            )
            self.top = Product(fused.t().contiguous(), half)
            self.fc_b = model.fc.bias.detach().float().clone()
        self.granule = max(p.granule for p in (self.top, *self.recurrent, *self.inputs))

    def padded_rows(self, batch: int) -> int:
        """``batch`` rounded up to the row granule (at least one granule)."""
        g = self.granule
        return max(g, -(-batch // g) * g)

    def zero_state(self, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.num_layers, rows, self.hidden_size)
        return (
            torch.zeros(shape, device=self.device),
            torch.zeros(shape, device=self.device),
        )

    def bind(self, h: torch.Tensor, c: torch.Tensor) -> BoundStep:
        """The step on state ``(h, c)``, which it updates in place."""
        return BoundStep(self, h, c)


def top_k_mask(logits: torch.Tensor, top_k: torch.Tensor) -> torch.Tensor:
    """Set every logit below its row's k-th largest to -inf (``top_k`` shape ``(B,)``).

    A row whose k is 0 or at least the vocabulary size is left untouched.
    """
    vocab = logits.shape[-1]
    k = torch.where((top_k <= 0) | (top_k > vocab), vocab, top_k)
    ordered = logits.sort(dim=-1, descending=True).values
    threshold = ordered.gather(-1, (k - 1).unsqueeze(-1))
    return logits.masked_fill(logits < threshold, float("-inf"))


def min_p_mask(scaled: torch.Tensor, log_min_p: torch.Tensor) -> torch.Tensor:
    """Set every scaled logit whose probability is below ``min_p`` times its row's most
    likely one to -inf (``log_min_p`` shape ``(B, 1)``, -inf for rows without min-p).

    Min-p (Nguyen et al. 2024) cuts the long tail of unlikely characters, where most
    misspellings come from, by a share of the best candidate: strict where the model is
    sure, lenient where many characters are plausible. Compared in log space, so it
    needs no softmax.
    """
    floor = scaled.amax(dim=-1, keepdim=True) + log_min_p
    return scaled.masked_fill(scaled < floor, float("-inf"))


def choose(
    logits: torch.Tensor,
    inv_temperature: torch.Tensor,
    noise: torch.Tensor,
    top_k: torch.Tensor | None = None,
    log_min_p: torch.Tensor | None = None,
) -> torch.Tensor:
    """Draw one character per row: ``logits`` (B, V), ``inv_temperature`` (B, 1).

    ``logits`` may be any log-probabilities up to a constant per row (the mixture's
    log-probabilities, for instance); temperature divides them, then top-k and min-p cut.
    """
    scaled = logits * inv_temperature
    if top_k is not None:
        scaled = top_k_mask(scaled, top_k)
    if log_min_p is not None:
        scaled = min_p_mask(scaled, log_min_p)
    return (scaled + noise).argmax(dim=-1)
