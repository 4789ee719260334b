"""The Task base class: a seeded generator of one long-range problem with its loss and metric."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Literal

import torch

from gradtrace.bounds import LIBRARY
from gradtrace.errors import check

if TYPE_CHECKING:
    from gradtrace.tasks.spec import TaskSpec

Readout = Literal["last", "all"]
Split = Literal["train", "held_out"]


class Task(ABC):
    """A long-range problem: seeded batches, a loss to train on, a metric and its chance level.

    Subclasses set the class attributes below and implement `sample`, `loss` and `metric`.
    ``baseline`` is the metric of the best predictor that ignores the inputs (chance level);
    ``baseline_loss`` is the loss of that predictor. Both are computed from the task's
    definition and tested against simulation.
    """

    name: ClassVar[str]
    readout: ClassVar[Readout]
    metric_name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    threshold: ClassVar[float]  # "solved" means metric >= threshold (or < when lower is better)
    default_seq_len: ClassVar[int] = 100
    min_seq_len: ClassVar[int] = 2
    # option name -> (default, smallest, largest); options absent here must stay unset.
    options: ClassVar[dict[str, tuple[int, int, int]]] = {}

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        self.seq_len: int = int(spec.seq_len)  # type: ignore[arg-type]
        self.input_size: int = 1
        self.output_size: int = 1

    @classmethod
    def seq_len_rule(cls, spec_options: dict[str, int] | None = None) -> str:
        """What seq_len values the task accepts (given its options), in words."""
        return f"{cls.name} needs {cls.min_seq_len} <= seq_len <= {LIBRARY.seq_len}"

    @classmethod
    def accepts_seq_len(cls, seq_len: int, spec_options: dict[str, int]) -> bool:
        """Whether ``seq_len`` is valid for this task given its (already validated) options."""
        return cls.min_seq_len <= seq_len <= LIBRARY.seq_len

    @abstractmethod
    def sample(
        self, batch_size: int, *, generator: torch.Generator, split: Split = "train"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw a batch (x (B, T, input_size) float32, y) on the CPU from ``generator``."""

    @abstractmethod
    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Training loss of model outputs ``out`` against targets ``y`` (a scalar tensor).

        For readout "all" the loss is a mean over time steps, so a chunk's share of it is its
        mean times chunk_len / seq_len (truncated BPTT relies on that).
        """

    @abstractmethod
    def metric(self, out: torch.Tensor, y: torch.Tensor) -> float:
        """The task's score of ``out`` against ``y`` (see ``metric_name``)."""

    @property
    @abstractmethod
    def baseline(self) -> float:
        """Chance level of the metric: the best input-blind predictor's score."""

    @property
    @abstractmethod
    def baseline_loss(self) -> float:
        """Loss of the best input-blind predictor."""

    def solved(self, metric: float) -> bool:
        """Whether a held-out ``metric`` meets the task's "solved" criterion."""
        if not math.isfinite(metric):
            return False
        return metric >= self.threshold if self.higher_is_better else metric < self.threshold

    def describe(self) -> dict[str, object]:
        """Plain facts about the task (sizes, metric, baseline, criterion) for tables and docs."""
        op = ">=" if self.higher_is_better else "<"
        return {
            "name": self.name,
            "seq_len": self.seq_len,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "readout": self.readout,
            "metric": self.metric_name,
            "baseline": self.baseline,
            "baseline_loss": self.baseline_loss,
            "solved": f"{self.metric_name} {op} {self.threshold:g}",
        }


class ClassificationTask(Task):
    """A task read out at the last step as one of ``output_size`` (nearly) equally likely classes.

    Cross-entropy loss on the class logits (B, classes), accuracy metric; the input-blind
    predictor scores 1 / classes accuracy and ln(classes) loss.
    """

    readout: ClassVar[Readout] = "last"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the class logits (B, classes)."""
        return torch.nn.functional.cross_entropy(out, y)

    def metric(self, out: torch.Tensor, y: torch.Tensor) -> float:
        """Classification accuracy."""
        return accuracy(out, y)

    @property
    def baseline(self) -> float:
        """1 / classes: the classes are (nearly) equally likely."""
        return 1.0 / self.output_size

    @property
    def baseline_loss(self) -> float:
        """ln(classes): cross-entropy of the uniform prediction."""
        return math.log(self.output_size)


def check_batch_size(batch_size: int) -> None:
    """Validate a requested batch size against the library bounds."""
    check(
        isinstance(batch_size, int) and 1 <= batch_size <= LIBRARY.batch_size,
        "batch_size",
        batch_size,
        f"an integer in [1, {LIBRARY.batch_size}]",
    )


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of positions whose arg-max class equals the label."""
    return float((logits.argmax(dim=-1) == labels).float().mean())


def one_hot(indices: torch.Tensor, classes: int) -> torch.Tensor:
    """float32 one-hot encoding of integer ``indices`` with ``classes`` channels."""
    return torch.nn.functional.one_hot(indices, classes).to(torch.float32)
