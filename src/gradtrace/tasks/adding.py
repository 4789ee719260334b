"""The adding problem: sum the two marked values of a long sequence of uniform numbers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gradtrace.tasks.base import Split, Task, check_batch_size

# variance of one value drawn from U[0, 1]
_VALUE_VARIANCE = 1.0 / 12.0


class AddingTask(Task):
    """Adding problem (Le et al. 2015; Arjovsky et al. 2016), channels (value, marker).

    Each step carries a value from U[0, 1] and a marker in {0, 1}; exactly one marker falls in
    the first half of the sequence and one in the second. The target is the sum of the two
    marked values, read out at the last step; the loss and the metric are the mean squared
    error. Always answering the mean sum 1 scores Var(u1 + u2) = 2/12 = 1/6 (the baseline).
    Solved: held-out MSE < 0.01.
    """

    name = "adding"
    readout = "last"
    metric_name = "mse"
    higher_is_better = False
    threshold = 0.01
    min_seq_len = 2

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.input_size = 2
        self.output_size = 1

    def sample(
        self, batch_size: int, *, generator: torch.Generator, split: Split = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, 2) with channels (value, marker); y (B, 1) the sum of the marked values."""
        check_batch_size(batch_size)
        b, t = batch_size, self.seq_len
        half = t // 2
        values = torch.rand(b, t, generator=generator)  # (B, T)
        first = torch.randint(0, half, (b,), generator=generator)
        second = torch.randint(half, t, (b,), generator=generator)
        rows = torch.arange(b)
        markers = torch.zeros(b, t)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        x = torch.stack([values, markers], dim=-1)  # (B, T, 2)
        y = (values[rows, first] + values[rows, second]).unsqueeze(-1)  # (B, 1)
        return x, y

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean squared error of the prediction (B, 1) against the sum (B, 1)."""
        return F.mse_loss(out, y)

    def metric(self, out: torch.Tensor, y: torch.Tensor) -> float:
        """Mean squared error (lower is better)."""
        return float(F.mse_loss(out, y))

    @property
    def baseline(self) -> float:
        """MSE of always predicting E[u1 + u2] = 1: the variance of the sum, 1/6."""
        return 2.0 * _VALUE_VARIANCE

    @property
    def baseline_loss(self) -> float:
        """Same as the baseline: the loss is the metric."""
        return self.baseline
