"""gradtrace: see, measure and fix vanishing and exploding gradients in recurrent networks.

The public API, imported on first use so that ``import gradtrace`` stays light:

- ``trace(model, ...)``: a context manager that records the exact gradient reaching every time
  step of every recurrent layer; its ``.profile`` is a :class:`GradientProfile`.
- ``diagnose(model, batch, ...)`` -> :class:`Diagnosis`: the profile plus spectra, Lyapunov
  exponents, unit health, a verdict and recommendations.
- ``parameter_sensitivity(model, batch)``: the curse of memory alone, per recurrent layer.
- ``probe(ProbeSpec(...))``: build a fresh model from a :class:`ModelSpec` and diagnose it.
- ``build_model(ModelSpec(...))``: the recurrent model zoo (RNN, LSTM, GRU; fused or cells).
- ``train(TrainSpec(...))``: one training run on a long-range task (:class:`TaskSpec`).
- :class:`Monitor`: always-on gradient health for your own training loop.

Vocabulary: lag k = T - t; g_t = mean per-example ||dL/dh_t||; r_k = g_{T-k} / g_T;
gamma_hat = decay per step; horizon = first lag with r_k < eps; verdict = non-finite |
exploding | vanishing | over-sensitive (curse of memory) | healthy. The guides and the API
reference are in the docs site.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gradtrace._lazy import attach

# A library logs but leaves handlers to the application; without this, Python's last-resort
# handler would print every monitor alert a second time next to its warning.
logging.getLogger("gradtrace").addHandler(logging.NullHandler())

__version__ = "0.1.0"

# The public API, one line per name: type checkers read these imports, and at run time
# `attach` reads the same lines and imports each name on first use.
if TYPE_CHECKING:
    from gradtrace import init as init
    from gradtrace.diagnosis.diagnosing import Diagnosis as Diagnosis
    from gradtrace.diagnosis.diagnosing import diagnose as diagnose
    from gradtrace.diagnosis.probing import ProbeSpec as ProbeSpec
    from gradtrace.diagnosis.probing import probe as probe
    from gradtrace.diagnosis.sensitivity import parameter_sensitivity as parameter_sensitivity
    from gradtrace.models.declare import CellDeclaration as CellDeclaration
    from gradtrace.models.declare import recurrent_cell as recurrent_cell
    from gradtrace.models.net import build_model as build_model
    from gradtrace.models.spec import ModelSpec as ModelSpec
    from gradtrace.monitor.monitor import Monitor as Monitor
    from gradtrace.tasks.spec import TaskSpec as TaskSpec
    from gradtrace.tracing.marks import mark as mark
    from gradtrace.tracing.marks import mark_sequence as mark_sequence
    from gradtrace.tracing.profile import GradientProfile as GradientProfile
    from gradtrace.tracing.profile import LayerProfile as LayerProfile
    from gradtrace.tracing.tracer import trace as trace
    from gradtrace.training.spec import TrainSpec as TrainSpec
    from gradtrace.training.trainer import train as train
else:
    __getattr__, __dir__, __all__ = attach(__name__, __file__, extra=("__version__",))
