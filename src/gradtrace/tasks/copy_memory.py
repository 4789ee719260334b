"""The copy memory problem: recall a short sequence of symbols after a long blank delay."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F

from gradtrace.tasks.base import Split, Task, accuracy, check_batch_size, one_hot


class CopyTask(Task):
    """Copy memory (Arjovsky et al. 2016) with total length seq_len = T + 2 * recall.

    Input channels: 0 blank, 1..alphabet symbols, alphabet + 1 delimiter (one-hot). The
    sequence starts with ``recall`` random symbols, then T - 1 blanks, the delimiter and
    ``recall`` blanks; the target is blank everywhere except the last ``recall`` steps, which
    must repeat the first symbols. Per-step cross-entropy over all steps (readout "all").
    The best input-blind predictor says blank, then uniform over the alphabet at the recall
    steps: loss recall * ln(alphabet) / seq_len, recall accuracy 1 / alphabet (the baseline).
    Solved: at least 99% of the recalled symbols right on the held-out batch.
    """

    name = "copy"
    readout = "all"
    metric_name = "recall_accuracy"
    higher_is_better = True
    threshold = 0.99
    default_seq_len = 120
    options: ClassVar[dict[str, tuple[int, int, int]]] = {
        "recall": (10, 1, 100),
        "alphabet": (8, 2, 64),
    }

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.recall: int = int(spec.recall)
        self.alphabet: int = int(spec.alphabet)
        self.delay = self.seq_len - 2 * self.recall  # T in the usual notation
        self.input_size = self.alphabet + 2
        self.output_size = self.alphabet + 1

    @classmethod
    def seq_len_rule(cls, spec_options: dict[str, int] | None = None) -> str:
        recall = (spec_options or {}).get("recall", cls.options["recall"][0])
        return (
            f"copy needs seq_len >= {2 * recall + 1} (seq_len = delay T + 2 * recall, "
            f"recall = {recall})"
        )

    @classmethod
    def accepts_seq_len(cls, seq_len: int, spec_options: dict[str, int]) -> bool:
        recall = spec_options.get("recall", cls.options["recall"][0])
        return super().accepts_seq_len(seq_len, spec_options) and seq_len >= 2 * recall + 1

    def sample(
        self, batch_size: int, *, generator: torch.Generator, split: Split = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, alphabet + 2) one-hot; y (B, T) class indices (0 = blank)."""
        check_batch_size(batch_size)
        n, length = self.recall, self.seq_len
        symbols = torch.randint(1, self.alphabet + 1, (batch_size, n), generator=generator)
        tokens = torch.zeros(batch_size, length, dtype=torch.long)  # (B, T)
        tokens[:, :n] = symbols
        tokens[:, length - n - 1] = self.alphabet + 1  # delimiter
        y = torch.zeros(batch_size, length, dtype=torch.long)  # (B, T)
        y[:, length - n :] = symbols
        return one_hot(tokens, self.input_size), y

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy averaged over every step of every sequence; out (B, T, C)."""
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))

    def metric(self, out: torch.Tensor, y: torch.Tensor) -> float:
        """Fraction of the recalled symbols (the last ``recall`` steps) predicted right."""
        n = self.recall
        return accuracy(out[:, -n:], y[:, -n:])

    @property
    def baseline(self) -> float:
        """Recall accuracy of guessing uniformly: 1 / alphabet."""
        return 1.0 / self.alphabet

    @property
    def baseline_loss(self) -> float:
        """recall * ln(alphabet) / seq_len: certain blanks, uniform guesses at recall."""
        return self.recall * math.log(self.alphabet) / self.seq_len
