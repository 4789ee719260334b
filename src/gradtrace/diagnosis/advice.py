"""Recommendations: pure rules from measured findings to remedies, each naming its number.

Every rule reads only what it is given (a gradient profile, matrix spectra, unit health, the
sequence length), so the monitor can reuse it on whatever it has measured. A model with a healthy
profile, no saturation, no dead units and no subnormal gradients gets no advice.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gradtrace.diagnosis.health import Health
from gradtrace.diagnosis.sensitivity import SENSITIVITY_THRESHOLD
from gradtrace.diagnosis.spectrum import MatrixSpectrum
from gradtrace.flow import DEFAULT_EPS, VERDICTS

SATURATED_LIMIT = 0.25  # fraction of saturated unit-steps that calls for layer norm
DEAD_LIMIT = 0.10  # fraction of dead ReLU units that calls for Leaky ReLU
LOW_FORGET = 0.7  # a forget gate mean below this is what a forget bias near 0 gives
SUBNORMAL_LIMIT = 0.01  # fraction of subnormal gradient entries that calls for flushing
TBPTT_MIN_LEN = 200  # truncation pays off only on long sequences ...
TBPTT_MAX_SHARE = 0.25  # ... and when 2 * horizon is at most this share of T


@dataclass(frozen=True)
class Recommendation:
    """One finding and what to do about it; ``value`` is the number that triggered the rule."""

    code: str
    finding: str
    value: float | None
    advice: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recommendation:
        """Inverse of `to_dict`."""
        return cls(**data)


def num(value: float) -> str:
    """A short number: three significant digits, two in scientific notation (0.62, 4.2e+05)."""
    if value is None or not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-4):
        return f"{value:.2g}"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


@dataclass(frozen=True)
class _Flow:
    """What the rules need from a gradient profile, over its worst layers."""

    verdict: str
    kinds: tuple[str, ...]  # kinds of the layers that vanish
    horizon: int | None  # the shortest horizon of any layer
    growth: float  # the largest finite r_k of any layer
    seq_len: int


def measured_layers(profile: Any) -> list[Any]:
    """Layers whose r_k is defined: all of them but those with finite norms and no gradient at
    their reference step (e.g. the reverse direction of a model whose loss reads the last step
    only: its states before T never reach the loss)."""
    kept = []
    for layer in profile.layers:
        g = np.asarray(layer.g, dtype=np.float64)
        if np.all(np.isfinite(g)) and not np.all(np.isfinite(layer.relative)):
            continue
        kept.append(layer)
    return kept


def overall_verdict(profile: Any, eps: float = DEFAULT_EPS) -> str:
    """The worst verdict over the measured layers (the profile's own when none is measured)."""
    layers = measured_layers(profile)
    if not layers:
        return profile.verdict(eps)
    return min((layer.verdict(eps) for layer in layers), key=VERDICTS.index)


def _flow(profile: Any, eps: float, seq_len: int | None) -> _Flow | None:
    if profile is None:
        return None
    if isinstance(profile, dict):
        from gradtrace.tracing import GradientProfile

        profile = GradientProfile.from_dict(profile)
    horizons, vanishing, growth, lengths = [], [], 0.0, []
    for layer in measured_layers(profile):
        r = np.asarray(layer.relative, dtype=np.float64)
        lengths.append(int(layer.seq_len))
        finite = r[np.isfinite(r)]
        growth = max(growth, float(finite.max()) if finite.size else 0.0)
        h = layer.horizon(eps)
        if h is not None:
            horizons.append(h)
            vanishing.append(layer.kind)
    return _Flow(
        verdict=overall_verdict(profile, eps),
        kinds=tuple(vanishing),
        horizon=min(horizons) if horizons else None,
        growth=growth,
        seq_len=int(seq_len or (max(lengths) if lengths else 0)),
    )


def recommend(
    *,
    profile: Any = None,
    spectra: list[MatrixSpectrum] | None = None,
    health: Health | None = None,
    seq_len: int | None = None,
    eps: float = DEFAULT_EPS,
    sensitivity: list[Any] | None = None,
    sensitivity_threshold: float = SENSITIVITY_THRESHOLD,
) -> list[Recommendation]:
    """Remedies for the findings, most urgent first; [] for a healthy model.

    Args:
        profile: a GradientProfile (or its dict) from ``gradtrace.trace``.
        spectra: matrix spectra from ``gradtrace.diagnosis.spectrum``.
        health: unit health from ``diagnose``.
        seq_len: T (defaults to the profile's sequence length).
        eps: the horizon threshold on r_k.
        sensitivity: LayerSensitivity per layer (the curse of memory), from ``diagnose``.
        sensitivity_threshold: the recurrent/input sensitivity ratio that calls for a remedy.
    """
    flow = _flow(profile, eps, seq_len)
    seq_len = seq_len or (flow.seq_len if flow else None)
    found: list[Recommendation] = []
    found += _exploding(flow, eps)
    found += _spectral(flow, spectra or [])
    found += _vanishing(flow)
    found += _memory(sensitivity or [], sensitivity_threshold)
    found += _unit_health(flow, health, seq_len)
    found += _cost(flow)
    return found


def _exploding(flow: _Flow | None, eps: float) -> list[Recommendation]:
    if flow is None or flow.verdict not in ("exploding", "non-finite"):
        return []
    clip = "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)"
    if flow.verdict == "non-finite":
        return [
            Recommendation(
                "clip-gradients",
                "the gradient profile holds nan or inf values",
                None,
                f"clip the gradient norm ({clip}), lower the learning rate and check the inputs "
                "and the loss for nan",
            )
        ]
    return [
        Recommendation(
            "clip-gradients",
            f"the gradient grows {num(flow.growth)}x going back in time "
            f"(max r_k > 1/eps = {num(1 / eps)})",
            flow.growth,
            f"clip the gradient norm ({clip}); clipping bounds each update, it restores no "
            "lost long-range signal",
        )
    ]


def _rnn_spectra(spectra: list[MatrixSpectrum]) -> list[MatrixSpectrum]:
    return [s for s in spectra if s.kind == "rnn" and s.derivative_bound is not None]


def _spectral(flow: _Flow | None, spectra: list[MatrixSpectrum]) -> list[Recommendation]:
    rnn = [s for s in _rnn_spectra(spectra) if math.isfinite(s.spectral_radius)]
    if not rnn:
        return []
    found = []
    widest = max(rnn, key=lambda s: s.spectral_radius / (1 / s.derivative_bound))
    limit = 1 / widest.derivative_bound
    expanding = flow is None or flow.verdict in ("exploding", "non-finite")
    if expanding and widest.spectral_radius > limit:
        found.append(
            Recommendation(
                "spectral-radius",
                f"spectral radius {num(widest.spectral_radius)} > 1/gamma_phi = {num(limit)} "
                f"({widest.name})",
                widest.spectral_radius,
                "re-initialize W_hh orthogonally (init='orthogonal') or scale it to spectral "
                "radius 1 (init='spectral', init_scale=1.0)",
            )
        )
    contracting = flow is None or flow.verdict == "vanishing"
    narrowest = min(rnn, key=lambda s: s.max_singular * s.derivative_bound)
    smallest = min(rnn, key=lambda s: s.spectral_radius * s.derivative_bound)
    if contracting and narrowest.max_singular * narrowest.derivative_bound < 1:
        limit = 1 / narrowest.derivative_bound
        finding = (
            f"largest singular value {num(narrowest.max_singular)} < 1/gamma_phi = {num(limit)} "
            f"({narrowest.name}): every step shrinks the gradient"
        )
        value = narrowest.max_singular
    elif contracting and smallest.spectral_radius * smallest.derivative_bound < 1:
        limit = 1 / smallest.derivative_bound
        finding = (
            f"spectral radius {num(smallest.spectral_radius)} < 1/gamma_phi = {num(limit)} "
            f"({smallest.name}): long products of W_hh contract"
        )
        value = smallest.spectral_radius
    else:
        return found
    found.append(
        Recommendation(
            "orthogonal-init",
            finding,
            value,
            "initialize W_hh orthogonally (init='orthogonal') or as the identity "
            "(init='identity', with ReLU) so that the recurrent map preserves norms",
        )
    )
    return found


def _vanishing(flow: _Flow | None) -> list[Recommendation]:
    if flow is None or flow.horizon is None:
        return []
    reach = f"horizon {flow.horizon} steps < T = {flow.seq_len}"
    found = []
    if "rnn" in flow.kinds:
        found.append(
            Recommendation(
                "gated-cell",
                reach,
                float(flow.horizon),
                "use a gated cell (cell='lstm' or 'gru'): the additive state path carries the "
                "gradient over many more steps",
            )
        )
    found.append(
        Recommendation(
            "attention-readout",
            reach,
            float(flow.horizon),
            "give distant steps a short path to the loss: an attention readout "
            "(readout='attention') or residual connections (residual=True)",
        )
    )
    return found


def _memory(sensitivity: list[Any], threshold: float) -> list[Recommendation]:
    found = []
    for layer in sensitivity:
        if not layer.over_sensitive(threshold):
            continue
        top = layer.top_part()
        path = f"{layer.module}.{top}" if layer.module else top
        path = path.split("[")[0]
        remedy = (
            "use an element-wise recurrence with normalized input and an exponential "
            "parametrization of its eigenvalues (cell='lru'; cell='mingru' or an LSTM's "
            "forget gates also keep the sensitivity bounded)"
        )
        if top == "theta_log":  # the LRU's phase: its modulus is already parametrized
            remedy = (
                "start the phases of lambda in a narrower range (a smaller max_phase), since "
                "the exponential parametrization tames the modulus of lambda but not its phase"
            )
        found.append(
            Recommendation(
                code="curse-of-memory",
                finding=(
                    f"the final state is {num(layer.ratio)}x more sensitive to the recurrent "
                    f"parameters than to the input parameters, most of all to {path}: the curse "
                    f"of memory, not a vanishing or exploding gradient ({layer.name})"
                ),
                value=float(layer.ratio),
                advice=(
                    f"give {path} a learning rate about {num(layer.ratio)}x smaller (an optimizer "
                    f"parameter group), or {remedy}"
                ),
            )
        )
    return found


def _unit_health(
    flow: _Flow | None, health: Health | None, seq_len: int | None
) -> list[Recommendation]:
    if health is None:
        return []
    found = []
    lstm = [h for h in health.layers if h.forget_timescale is not None]
    vanishing = flow is None or flow.horizon is not None
    if lstm and vanishing and seq_len:
        short = min(lstm, key=lambda h: h.forget_timescale)
        mean = short.gate_means.get("forget", math.nan)
        if short.forget_timescale < seq_len:
            chrono = f"chrono init (init='chrono', t_max = T = {seq_len})"
            advice = (
                f"raise the forget-gate bias (forget_bias=1.0: mean near 0.73) or use {chrono}"
                if mean < LOW_FORGET
                else f"use {chrono}: it spreads the forget-gate timescales up to T"
            )
            found.append(
                Recommendation(
                    "forget-bias",
                    f"forget gate mean {num(mean)} keeps the cell state about "
                    f"{num(short.forget_timescale)} steps < T = {seq_len} ({short.name})",
                    short.forget_timescale,
                    advice,
                )
            )
    dead = [h for h in health.layers if h.dead is not None and h.activation == "relu"]
    if dead:
        worst = max(dead, key=lambda h: h.dead)
        if worst.dead > DEAD_LIMIT:
            found.append(
                Recommendation(
                    "leaky-relu",
                    f"{num(100 * worst.dead)}% of ReLU units never active "
                    f"({worst.dead_units} units, {worst.name})",
                    worst.dead,
                    "use Leaky ReLU or PReLU (activation='leaky_relu' or 'prelu') so inactive "
                    "units still pass gradient",
                )
            )
    saturated = [h for h in health.layers if h.saturated is not None]
    if saturated:
        worst = max(saturated, key=lambda h: h.saturated)
        if worst.saturated > SATURATED_LIMIT:
            found.append(
                Recommendation(
                    "layer-norm",
                    f"{num(100 * worst.saturated)}% of unit-steps saturated "
                    f"(|phi'| < {num(health.threshold)} of its peak, {worst.name})",
                    worst.saturated,
                    "add layer normalization (layer_norm=True) or use a smaller initial scale "
                    "so pre-activations stay in the non-saturated range",
                )
            )
    subnormal = max(health.subnormal_grads or 0.0, health.subnormal_trace)
    if subnormal > SUBNORMAL_LIMIT:
        found.append(
            Recommendation(
                "flush-subnormals",
                f"{num(100 * subnormal)}% of gradient entries are subnormal floats",
                subnormal,
                "train inside gradtrace.numerics.flush_denormal() (torch.set_flush_denormal): "
                "subnormals make CPU backward several times slower",
            )
        )
    return found


def _cost(flow: _Flow | None) -> list[Recommendation]:
    if flow is None or flow.horizon is None or flow.seq_len < TBPTT_MIN_LEN:
        return []
    window = max(2 * flow.horizon, 1)
    if window > TBPTT_MAX_SHARE * flow.seq_len:
        return []
    return [
        Recommendation(
            "truncated-bptt",
            f"no measurable gradient beyond lag {flow.horizon} of T = {flow.seq_len}",
            float(window),
            f"truncate backpropagation to {window} steps (tbptt={window}): the gradient beyond "
            f"lag {flow.horizon} is below eps anyway, and activation memory drops from "
            f"{flow.seq_len} to {window} steps (the backward pass too when only the last step "
            "is scored); it does not lengthen the horizon",
        )
    ]
