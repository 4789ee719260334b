"""LSTMCell time series in float64, trained with LBFGS (a closure)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import gradtrace

from .reference import F64, B, T, _g, _lstm_step, _retain, _w


class Sequence(nn.Module):
    """Two stacked LSTMCells over a sine wave, one value per step, as in the time-series example."""

    def __init__(self, hidden: int = 7) -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)
        self.hidden = hidden

    def forward(self, series: torch.Tensor) -> torch.Tensor:  # (B, T)
        zeros = series.new_zeros(series.shape[0], self.hidden)
        h1, c1, h2, c2 = zeros, zeros, zeros, zeros
        outputs = []
        for x_t in series.split(1, dim=1):
            h1, c1 = self.lstm1(x_t, (h1, c1))
            h2, c2 = self.lstm2(h1, (h2, c2))
            outputs.append(self.linear(h2))
        return torch.cat(outputs, dim=1)


class SequenceEntry:
    name = "lstmcell_series"
    cells = None

    def train(self, model, steps, monitor_args=None):
        """LBFGS with a closure; the monitor records after each optimizer.step(closure)."""
        opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
        monitor = gradtrace.Monitor(model, **monitor_args) if monitor_args is not None else None
        for step in range(steps):
            batch = self.batch(step)

            def closure(batch=batch):
                opt.zero_grad()
                loss = self.loss(self.run(model, batch), batch)
                loss.backward()
                return loss

            opt.step(closure)
            if monitor is not None:
                monitor.step()
        return monitor

    def build(self) -> nn.Module:
        torch.manual_seed(4)
        return Sequence().double()

    def batch(self, seed: int = 0) -> Any:
        steps = torch.arange(T + 1, dtype=F64)
        phase = torch.tensor([[0.0], [0.7], [1.9]], dtype=F64) + seed
        wave = torch.sin(0.4 * steps + phase)
        return wave[:, :-1], wave[:, 1:]

    def run(self, model, batch):
        return model(batch[0])

    def loss(self, output, batch):
        return F.mse_loss(output, batch[1])

    def reference(self, model, batch) -> dict[str, torch.Tensor]:
        series, target = batch
        w1, w2 = _w(model.lstm1), _w(model.lstm2)
        z = torch.zeros(B, 7, dtype=F64)
        h1, c1, h2, c2 = z, z, z, z
        hs1, hs2, outs = [], [], []
        for t in range(T):
            h1, c1 = _lstm_step(w1, series[:, t : t + 1], h1, c1)
            h2, c2 = _lstm_step(w2, _retain(h1), h2, c2)
            hs1.append(h1)
            hs2.append(_retain(h2))
            outs.append(model.linear(h2))
        F.mse_loss(torch.cat(outs, 1), target).backward()
        return {"lstm1": _g(hs1), "lstm2": _g(hs2)}
