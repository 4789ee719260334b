"""Sequential digits: scikit-learn's bundled 8x8 digit images read one pixel per step."""

from __future__ import annotations

import functools

import numpy as np
import torch

from gradtrace.tasks.base import ClassificationTask, Split, check_batch_size

PIXELS = 64
HELD_OUT = 360  # of 1797 images: a fixed 20% held-out split, the rest (1437) for training
_SPLIT_SEED = 0  # fixed: every run of every study sees the same split
_PERMUTATION_SEED = 1  # fixed pixel order of digits_permuted


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 64) in [0, 1], labels (N,)), shuffled once with a fixed seed (read-only)."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    data = load_digits()
    order = np.random.default_rng(_SPLIT_SEED).permutation(len(data.target))
    images = (data.data[order] / 16.0).astype(np.float32)
    labels = data.target[order].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


class DigitsTask(ClassificationTask):
    """Sequential 8x8 digits: 64 steps of one pixel (value / 16), 10 classes, last-step readout.

    Uses sklearn.datasets.load_digits (1797 images, bundled, no download), split once with a
    fixed seed into 1437 training and 360 held-out images. Training batches draw training
    images with replacement; the held-out "batch" is the whole held-out split (or a seeded
    subset when a smaller batch is asked for). Metric: accuracy, chance 0.1 (ten balanced
    classes); solved: held-out accuracy >= 0.9. seq_len is always 64.
    """

    name = "digits"
    threshold = 0.9
    default_seq_len = PIXELS
    min_seq_len = PIXELS
    permuted = False

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self.input_size = 1
        self.output_size = 10
        images, labels = _digits()
        x = torch.tensor(images)  # (N, 64)
        if self.permuted:
            order = np.random.default_rng(_PERMUTATION_SEED).permutation(PIXELS)
            x = x[:, torch.as_tensor(order)]
        y = torch.tensor(labels)
        self._train = (x[HELD_OUT:], y[HELD_OUT:])
        self._held_out = (x[:HELD_OUT], y[:HELD_OUT])

    @classmethod
    def seq_len_rule(cls, spec_options: dict[str, int] | None = None) -> str:
        return f"{cls.name} reads 8x8 images pixel by pixel: seq_len must be {PIXELS}"

    @classmethod
    def accepts_seq_len(cls, seq_len: int, spec_options: dict[str, int]) -> bool:
        return seq_len == PIXELS

    @property
    def split_sizes(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": len(self._train[1]), "held_out": len(self._held_out[1])}

    def sample(
        self, batch_size: int, *, generator: torch.Generator, split: Split = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 64, 1) pixels in [0, 1]; y (B,) digit labels."""
        check_batch_size(batch_size)
        if split == "train":
            images, labels = self._train
            pick = torch.randint(0, len(labels), (batch_size,), generator=generator)
        else:
            images, labels = self._held_out
            pick = torch.randperm(len(labels), generator=generator)[:batch_size]
            pick = pick.sort().values
        return images[pick].unsqueeze(-1), labels[pick]


class PermutedDigitsTask(DigitsTask):
    """Sequential digits with the 64 pixels in one fixed, seeded random order."""

    name = "digits_permuted"
    permuted = True
