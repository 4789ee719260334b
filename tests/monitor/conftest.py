"""Fixtures for the monitor tests: a tiny LSTM language model and a loop that trains it."""

from __future__ import annotations

import pytest
import torch
from torch import nn

VOCAB = 11


class TinyLM(nn.Module):
    """Embedding -> 2-layer LSTM -> linear, the shape of the example language model."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 6)
        self.lstm = nn.LSTM(6, hidden, num_layers=2, batch_first=True)
        self.decoder = nn.Linear(hidden, VOCAB)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))  # (B, T, H)
        return self.decoder(out)  # (B, T, V)


def lm_loss(model: nn.Module, *, batch: int = 4, seq_len: int = 7, seed: int = 0) -> torch.Tensor:
    """The next-token loss of ``model`` on a seeded random batch."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, VOCAB, (batch, seq_len + 1), generator=g)
    logits = model(tokens[:, :-1])
    return nn.functional.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1))


def train(model: nn.Module, optimizer, steps: int, *, monitor=None, seed: int = 0) -> None:
    """A plain loop: zero_grad, backward, (monitor.step() without an optimizer hook), step."""
    for i in range(steps):
        optimizer.zero_grad()
        lm_loss(model, seed=seed + i).backward()
        if monitor is not None and monitor.optimizer is None:
            monitor.step()
        optimizer.step()


@pytest.fixture
def tiny_lm() -> TinyLM:
    """A fresh, seeded TinyLM."""
    torch.manual_seed(0)
    return TinyLM()


@pytest.fixture
def lm():
    """The helpers above, for tests that build several models: lm.TinyLM, lm.loss, lm.train."""
    from types import SimpleNamespace

    return SimpleNamespace(TinyLM=TinyLM, loss=lm_loss, train=train, vocab=VOCAB)
