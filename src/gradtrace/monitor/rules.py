"""Turn measured steps into alerts: which detector watches what, and the advice each one gives."""

from __future__ import annotations

import math

from gradtrace.monitor.alerts import Alert, fmt
from gradtrace.monitor.detectors import RateDetector, SpikeDetector, VanishDetector
from gradtrace.monitor.records import StepRecord
from gradtrace.monitor.thresholds import Thresholds

GLOBAL = "global"


class StepRules:
    """Detectors over the global norm and every layer's norm, fed one StepRecord at a time."""

    def __init__(
        self,
        layers: tuple[str, ...],
        thresholds: Thresholds,
        *,
        clip: str | None,
        clip_value: float,
        on_nonfinite: str,
        kinds: dict[str, str] | None = None,
    ) -> None:
        t = thresholds
        self.t = t
        self.kinds = kinds or {}  # layer -> recurrent kind, for layer-specific advice
        self.clip = clip
        self.clip_value = clip_value
        self.on_nonfinite = on_nonfinite
        spike = {"factor": t.spike_factor, "window": t.spike_window, "warmup": t.spike_warmup}
        self._spikes = {name: SpikeDetector(**spike) for name in (GLOBAL, *layers)}
        vanish = {"eps": t.vanish_eps, "patience": t.vanish_patience, "early_steps": t.early_steps}
        self._vanish = {name: VanishDetector(**vanish) for name in layers}
        self._recent: list[tuple[bool, float]] = []  # (clipped, norm after) of recent steps
        self._clip_rate = (
            RateDetector(limit=t.clip_rate, window=t.spike_window)
            if t.clip_rate is not None
            else None
        )

    def add_layers(self, layers: tuple[str, ...]) -> None:
        """Start detectors for layers not seen before (parameters added during training)."""
        t = self.t
        spike = {"factor": t.spike_factor, "window": t.spike_window, "warmup": t.spike_warmup}
        vanish = {"eps": t.vanish_eps, "patience": t.vanish_patience, "early_steps": t.early_steps}
        for name in layers:
            self._spikes.setdefault(name, SpikeDetector(**spike))
            self._vanish.setdefault(name, VanishDetector(**vanish))

    @property
    def typical_norm(self) -> float | None:
        """The median raw global norm of the recent steps (None before any)."""
        median = self._spikes[GLOBAL].median
        return median if median is not None and math.isfinite(median) and median > 0 else None

    @property
    def loop_clip(self) -> tuple[float, float] | None:
        """(clip rate, median clipped norm) of the recent steps the loop (or we) clipped."""
        if not self._recent:
            return None
        clipped = [post for was, post in self._recent if was]
        if not clipped:
            return None
        return len(clipped) / len(self._recent), float(sorted(clipped)[len(clipped) // 2])

    def check(self, rec: StepRecord) -> list[Alert]:
        """Alerts raised by one step (before de-duplication)."""
        self._recent.append((bool(rec.clipped), rec.global_norm_clipped))
        del self._recent[: -self.t.spike_window]
        alerts = []
        if rec.nonfinite or not math.isfinite(rec.global_norm):
            alerts.append(self._nonfinite(rec))
        alerts += self._spiking(rec)
        for layer, detector in self._vanish.items():
            level = detector.update(rec.layers.get(layer, math.nan))
            if level is not None:
                alerts.append(self._vanishing(rec, layer, level))
        if rec.subnormal_fraction > self.t.subnormal_fraction:
            alerts.append(self._subnormal(rec))
        if self._clip_rate is not None:
            rate = self._clip_rate.update(rec.clipped)
            if rate is not None:
                alerts.append(self._clipping(rec, rate))
        return alerts

    def _spiking(self, rec: StepRecord) -> list[Alert]:
        base = self._spikes[GLOBAL].update(rec.global_norm)
        layer_spikes = {}
        for layer, detector in self._spikes.items():
            if layer != GLOBAL:
                value = rec.layers.get(layer, math.nan)
                median = detector.update(value)
                if median is not None:
                    layer_spikes[layer] = (value, median)
        if base is not None:
            return [self._exploding(rec, GLOBAL, rec.global_norm, base, layer_spikes)]
        share = self.t.layer_share * rec.global_norm
        return [
            self._exploding(rec, name, value, median, {})
            for name, (value, median) in layer_spikes.items()
            if value >= share
        ]

    def _nonfinite(self, rec: StepRecord) -> Alert:
        names = rec.nonfinite or ["the global norm"]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        if self.on_nonfinite == "skip":
            outcome = "the optimizer step was skipped"
            advice = "if it recurs, lower the learning rate or clip the gradient norm"
        else:
            outcome = "the optimizer step used them, so the weights may now be nan"
            advice = (
                "lower the learning rate, clip the gradient norm (clip='norm'), and pass "
                "on_nonfinite='skip' to drop such steps"
            )
        return Alert(
            step=rec.step,
            kind="non-finite",
            where=rec.nonfinite[0] if len(rec.nonfinite) == 1 else GLOBAL,
            value=rec.global_norm,
            reference=math.inf,
            finding=f"nan/inf in {len(rec.nonfinite)} parameter(s) ({shown}); {outcome}",
            advice=advice,
        )

    def _exploding(
        self, rec: StepRecord, where: str, value: float, median: float, layers: dict
    ) -> Alert:
        ratio = value / median
        finding = (
            f"norm {fmt(value)} is {ratio:.0f}x its median {fmt(median)} "
            f"over the last {self.t.spike_window} steps"
        )
        if layers:
            worst = max(layers, key=lambda name: layers[name][0] / layers[name][1])
            worst_ratio = layers[worst][0] / layers[worst][1]
            finding += f" (largest rise in {worst}: {worst_ratio:.0f}x)"
        loop = self.loop_clip
        if self.clip == "norm" or loop is not None:
            at = self.clip_value if self.clip == "norm" else loop[1]
            rate = f" (clip rate {loop[0]:.0%})" if loop is not None else ""
            advice = (
                f"clipping at {fmt(at)}{rate} already bounds the update, but the raw gradient "
                "keeps jumping: lower the learning rate, or reinitialize the recurrent weights "
                "so their spectral radius is at most 1 (gradtrace.init.orthogonal_(model.<rnn>))"
            )
        else:
            advice = (
                "clip the global gradient norm: torch.nn.utils.clip_grad_norm_("
                f"model.parameters(), max_norm={fmt(median)}) (the median norm measured here; "
                "0.25 to 5 are common), and lower the learning rate if spikes continue"
            )
        return Alert(rec.step, "exploding", where, value, median, finding, advice)

    def _vanishing(self, rec: StepRecord, layer: str, level: float) -> Alert:
        value = rec.layers.get(layer, math.nan)
        finding = (
            f"norm {fmt(value)} has stayed below {fmt(self.t.vanish_eps)}x its early level "
            f"{fmt(level)} for {self.t.vanish_patience} steps; the layer has stopped learning"
        )
        return Alert(rec.step, "vanishing", layer, value, level, finding, self._revive(layer))

    def _revive(self, layer: str) -> str:
        kind = self.kinds.get(layer)
        if kind == "rnn":
            return (
                "its units are likely saturated or dead: use a gated cell (LSTM/GRU), orthogonal "
                "init or Leaky ReLU, and a smaller learning rate"
            )
        if kind in ("lstm", "gru"):
            return (
                "its gates are likely saturated: use a smaller init scale for the recurrent "
                "weights (torch's default or orthogonal, not N(0,1)), a forget-gate bias of 1, or "
                "layer normalization, and a smaller learning rate"
            )
        return (
            "no gradient reaches this layer any more, so the layers above it are likely "
            "saturated or dead: check their init scale and lower the learning rate"
        )

    def _subnormal(self, rec: StepRecord) -> Alert:
        frac = rec.subnormal_fraction
        finding = f"{frac:.1%} of the sampled gradient entries are subnormal floats"
        advice = (
            "subnormals slow CPU arithmetic 5-10x and mean the signal has underflowed: train "
            "under gradtrace.numerics.flush_denormal() (torch.set_flush_denormal(True))"
        )
        return Alert(
            rec.step, "subnormal", GLOBAL, frac, self.t.subnormal_fraction, finding, advice
        )

    def _clipping(self, rec: StepRecord, rate: float) -> Alert:
        median = self._spikes[GLOBAL].median
        loop = self.loop_clip
        at = self.clip_value if self.clip is not None or loop is None else loop[1]
        who = "clip_value" if self.clip is not None else "your loop clips to about"
        finding = (
            f"clipping was active on {rate:.0%} of the last {self.t.spike_window} steps "
            f"(median raw norm {fmt(median)}, {who} {fmt(at)})"
        )
        advice = (
            "the update direction is kept but its size is always the clip value: raise "
            "clip_value toward the typical norm or lower the learning rate"
        )
        return Alert(rec.step, "clip-rate", GLOBAL, rate, self.t.clip_rate or 0.0, finding, advice)
