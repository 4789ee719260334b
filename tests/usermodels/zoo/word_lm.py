"""Word-level LM (PyTorch's word_language_model shape): token ids, time-major, hidden carried."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import gradtrace

from .reference import F64, VOCAB, B, T, _g, _lm_batch, _lstm_step, _retain, _w


class WordLM(nn.Module):
    """Embedding -> 2-layer nn.LSTM (time-major) -> decoder; forward(input, hidden)."""

    def __init__(self, hidden: int = 6) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(VOCAB, 5)
        self.rnn = nn.LSTM(5, hidden, num_layers=2, dropout=0.2)
        self.decoder = nn.Linear(hidden, VOCAB)
        self.hidden = hidden

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        weight = next(self.parameters())
        return weight.new_zeros(2, batch, self.hidden), weight.new_zeros(2, batch, self.hidden)

    def forward(self, tokens: torch.Tensor, hidden: Any) -> tuple[torch.Tensor, Any]:
        emb = self.drop(self.encoder(tokens))  # (T, B, E)
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden


class WordLMEntry:
    name = "word_lm"
    cells = None

    def build(self) -> nn.Module:
        torch.manual_seed(1)
        return WordLM().double()

    def batch(self, seed: int = 0) -> Any:
        tokens, targets = _lm_batch(seed)
        return tokens, targets

    def run(self, model, batch, hidden=None):
        tokens, _ = batch
        hidden = model.init_hidden(tokens.shape[1]) if hidden is None else hidden
        return model(tokens, hidden)

    def model_batch(self, model, batch):
        """What the model itself takes: (tokens, hidden)."""
        return batch[0], model.init_hidden(batch[0].shape[1])

    def train(self, model, steps, monitor_args=None):
        """Adam over consecutive BPTT windows, the hidden state carried (detached) across them."""
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        monitor = (
            gradtrace.Monitor(model, opt, **monitor_args) if monitor_args is not None else None
        )
        hidden = model.init_hidden(B)
        for step in range(steps):
            batch = self.batch(step)
            hidden = tuple(h.detach() for h in hidden)
            opt.zero_grad()
            output, hidden = model(batch[0], hidden)
            self.loss((output, hidden), batch).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            opt.step()
        return monitor

    def loss(self, output, batch):
        logits, _ = output
        return F.cross_entropy(logits.reshape(-1, VOCAB), batch[1].reshape(-1))

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        tokens, targets = batch
        x = model.encoder(tokens).detach()
        w = [_w(model.rnn, f"_l{k}") for k in range(2)]
        h = [torch.zeros(B, model.hidden, dtype=F64) for _ in range(2)]
        c = [torch.zeros(B, model.hidden, dtype=F64) for _ in range(2)]
        hs: list[list[torch.Tensor]] = [[], []]
        outs = []
        for t in range(T):
            inp = x[t]
            for k in range(2):
                h[k], c[k] = _lstm_step(w[k], inp, h[k], c[k])
                hs[k].append(_retain(h[k]))
                inp = h[k]
            outs.append(inp)
        logits = model.decoder(torch.stack(outs))
        F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1)).backward()
        return {"rnn.l0": _g(hs[0]), "rnn.l1": _g(hs[1])}
