"""Diagnosis of gradient flow: spectra, Lyapunov exponents, unit health, verdict and advice."""

from __future__ import annotations

from gradtrace._lazy import lazy_getattr

# public name -> module that defines it; imported on first use so that importing one part
# (e.g. the advice rules, which the monitor reuses) does not import matplotlib or the tracer.
_EXPORTS: dict[str, str] = {
    "diagnose": "gradtrace.diagnosis.diagnosing",
    "Diagnosis": "gradtrace.diagnosis.diagnosing",
    "default_loss": "gradtrace.diagnosis.diagnosing",
    "recommend": "gradtrace.diagnosis.advice",
    "Recommendation": "gradtrace.diagnosis.advice",
    "spectra": "gradtrace.diagnosis.spectrum",
    "MatrixSpectrum": "gradtrace.diagnosis.spectrum",
    "LayerDynamics": "gradtrace.diagnosis.dynamics",
    "layer_dynamics": "gradtrace.diagnosis.dynamics",
    "lag_grid": "gradtrace.diagnosis.dynamics",
    "Health": "gradtrace.diagnosis.health",
    "LayerHealth": "gradtrace.diagnosis.health",
    "subnormal_fraction": "gradtrace.diagnosis.health",
    "ProbeSpec": "gradtrace.diagnosis.probing",
    "ProbeResult": "gradtrace.diagnosis.probing",
    "probe": "gradtrace.diagnosis.probing",
    "compare": "gradtrace.diagnosis.probing",
    "decay_sentence": "gradtrace.diagnosis.probing",
    "plot_probes": "gradtrace.diagnosis.plot",
    "parse_spec": "gradtrace.diagnosis.shorthand",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
