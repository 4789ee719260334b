"""AWD-style weight-dropped LSTM with locked (variational) dropout."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .reference import F64, VOCAB, B, T, _g, _lm_batch, _lstm_step, _retain


class LockedDropout(nn.Module):
    """One dropout mask per sequence, shared by every time step (x: (T, B, F))."""

    def forward(self, x: torch.Tensor, p: float = 0.3) -> torch.Tensor:
        if not self.training or not p:
            return x
        mask = x.new_empty(1, x.shape[1], x.shape[2]).bernoulli_(1 - p) / (1 - p)
        return x * mask


class WeightDrop(nn.Module):
    """DropConnect on the recurrent weights of the wrapped nn.LSTM, redrawn every forward."""

    def __init__(self, module: nn.LSTM, weights: list[str], dropout: float) -> None:
        super().__init__()
        self.module, self.weights, self.dropout = module, weights, dropout
        for name in weights:
            raw = getattr(module, name)
            del module._parameters[name]
            self.register_parameter(name + "_raw", nn.Parameter(raw.data))

    def _setweights(self) -> None:
        for name in self.weights:
            raw = getattr(self, name + "_raw")
            setattr(self.module, name, F.dropout(raw, p=self.dropout, training=self.training))

    def forward(self, *args: Any) -> Any:
        self._setweights()
        return self.module(*args)


class AWDLSTM(nn.Module):
    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.encoder = nn.Embedding(VOCAB, 5)
        self.lockdrop = LockedDropout()
        self.rnn = WeightDrop(nn.LSTM(5, hidden), ["weight_hh_l0"], dropout=0.25)
        self.decoder = nn.Linear(hidden, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        emb = self.lockdrop(self.encoder(tokens), 0.2)
        output, _ = self.rnn(emb)
        return self.decoder(self.lockdrop(output, 0.2))


class AWDEntry:
    name = "awd_lstm"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(3)
        return AWDLSTM().double()

    def batch(self, seed: int = 0) -> Any:
        return _lm_batch(seed)

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.cross_entropy(output.reshape(-1, VOCAB), batch[1].reshape(-1))

    def reference(self, model, batch) -> dict[str, torch.Tensor]:  # eval mode: no dropout
        tokens, targets = batch
        x = model.encoder(tokens).detach()
        lstm = model.rnn.module
        w = {
            "weight_ih": lstm.weight_ih_l0.detach().clone().requires_grad_(),
            "weight_hh": model.rnn.weight_hh_l0_raw.detach().clone().requires_grad_(),
            "bias_ih": lstm.bias_ih_l0.detach().clone().requires_grad_(),
            "bias_hh": lstm.bias_hh_l0.detach().clone().requires_grad_(),
        }
        h = c = torch.zeros(B, 6, dtype=F64)
        hs = []
        for t in range(T):
            h, c = _lstm_step(w, x[t], h, c)
            hs.append(_retain(h))
        logits = model.decoder(torch.stack(hs))
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward()
        return {"rnn.module.l0": _g(hs)}
