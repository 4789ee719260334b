"""The temporal order problem: classify the order of 2 or 3 relevant symbols among distractors."""

from __future__ import annotations

from typing import ClassVar

import torch

from gradtrace.tasks.base import ClassificationTask, Split, check_batch_size, one_hot

# Symbols: distractors a, b, c, d; start B; end E; relevant X, Y (one-hot over 8 channels).
_DISTRACTORS = 4
_START, _END, _X = 4, 5, 6
_CHANNELS = 8

# Windows (fractions of seq_len) holding the relevant symbols: Hochreiter & Schmidhuber (1997),
# experiment 6a/6b, place them at steps [10, 20], [50, 60] (and [33, 43], [66, 76]) of ~100;
# scaled with the length as in Martens & Sutskever (2011) / Pascanu et al. (2013).
_WINDOWS: dict[int, tuple[tuple[float, float], ...]] = {
    2: ((0.1, 0.2), (0.5, 0.6)),
    3: ((0.1, 0.2), (0.33, 0.43), (0.66, 0.76)),
}


def windows(seq_len: int, symbols: int) -> list[tuple[int, int]]:
    """Half-open step ranges [lo, hi) of the relevant symbols for this length."""
    out = []
    for lo_frac, hi_frac in _WINDOWS[symbols]:
        lo = max(1, int(lo_frac * seq_len))
        hi = min(seq_len - 1, max(lo + 1, int(hi_frac * seq_len)))
        out.append((lo, hi))
    return out


class TemporalOrderTask(ClassificationTask):
    """Temporal order (Hochreiter & Schmidhuber 1997; Pascanu et al. 2013).

    A sequence starts with B and ends with E; in between are distractors a-d, except for
    ``symbols`` (2 or 3) relevant steps, each X or Y, one in each window (see `windows`).
    The class is the ordered combination (XX, XY, YX, YY, or 8 classes for 3 symbols), read
    out at the last step. Cross-entropy loss, accuracy metric; chance is ln(classes) loss and
    1 / classes accuracy. Solved: held-out accuracy >= 0.99.
    """

    name = "temporal_order"
    threshold = 0.99
    min_seq_len = 10
    options: ClassVar[dict[str, tuple[int, int, int]]] = {"symbols": (2, 2, 3)}

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.symbols: int = int(spec.symbols)
        self.classes = 2**self.symbols
        self.input_size = _CHANNELS
        self.output_size = self.classes

    def sample(
        self, batch_size: int, *, generator: torch.Generator, split: Split = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, 8) one-hot; y (B,) class index of the ordered X/Y combination."""
        check_batch_size(batch_size)
        b, t = batch_size, self.seq_len
        tokens = torch.randint(0, _DISTRACTORS, (b, t), generator=generator)  # (B, T)
        tokens[:, 0] = _START
        tokens[:, -1] = _END
        bits = torch.randint(0, 2, (b, self.symbols), generator=generator)  # 0 = X, 1 = Y
        rows = torch.arange(b)
        for i, (lo, hi) in enumerate(windows(t, self.symbols)):
            where = torch.randint(lo, hi, (b,), generator=generator)
            tokens[rows, where] = _X + bits[:, i]
        weights = 2 ** torch.arange(self.symbols - 1, -1, -1)
        y = (bits * weights).sum(dim=1)  # first relevant symbol is the most significant bit
        return one_hot(tokens, _CHANNELS), y
