"""Training one model on one task: spec, trainer loop, clipping, truncated BPTT and records."""

from __future__ import annotations

from gradtrace.training.record import STATUSES, RunRecord
from gradtrace.training.setup import fit_model_spec
from gradtrace.training.spec import TrainSpec
from gradtrace.training.trainer import StepProgress, train

__all__ = ["STATUSES", "RunRecord", "StepProgress", "TrainSpec", "fit_model_spec", "train"]
