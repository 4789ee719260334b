"""Diagnosis of gradient flow: spectra, Lyapunov exponents, unit health, verdict and advice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradtrace._lazy import attach

# The public API, one line per name: type checkers read these imports, and at run time `attach`
# reads the same lines and imports each name on first use (so importing one part stays light).
if TYPE_CHECKING:
    from gradtrace.diagnosis.advice import Recommendation as Recommendation
    from gradtrace.diagnosis.advice import recommend as recommend
    from gradtrace.diagnosis.diagnosing import Diagnosis as Diagnosis
    from gradtrace.diagnosis.diagnosing import diagnose as diagnose
    from gradtrace.diagnosis.dynamics import LayerDynamics as LayerDynamics
    from gradtrace.diagnosis.dynamics import lag_grid as lag_grid
    from gradtrace.diagnosis.dynamics import layer_dynamics as layer_dynamics
    from gradtrace.diagnosis.health import Health as Health
    from gradtrace.diagnosis.health import LayerHealth as LayerHealth
    from gradtrace.diagnosis.health import subnormal_fraction as subnormal_fraction
    from gradtrace.diagnosis.late_loss import default_loss as default_loss
    from gradtrace.diagnosis.plot import plot_probes as plot_probes
    from gradtrace.diagnosis.probing import ProbeResult as ProbeResult
    from gradtrace.diagnosis.probing import ProbeSpec as ProbeSpec
    from gradtrace.diagnosis.probing import compare as compare
    from gradtrace.diagnosis.probing import decay_sentence as decay_sentence
    from gradtrace.diagnosis.probing import probe as probe
    from gradtrace.diagnosis.shorthand import parse_spec as parse_spec
    from gradtrace.diagnosis.spectrum import MatrixSpectrum as MatrixSpectrum
    from gradtrace.diagnosis.spectrum import spectra as spectra
else:
    __getattr__, __dir__, __all__ = attach(__name__, __file__)
