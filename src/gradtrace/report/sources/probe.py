"""Report sections for a probe (gradtrace probe --json): profile, spectra, health, verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradtrace.display import readable_layer
from gradtrace.flow import DEFAULT_EPS, decay_factor, horizon, relative_profile, verdict
from gradtrace.formats import read_json, validate_probe
from gradtrace.report.charts import profile_chart, spectrum_chart
from gradtrace.report.document import Document, Fact, Section, Table, tone_of
from gradtrace.report.records import Curve, as_list, first, number, profile_curves
from gradtrace.report.sources.environment import environment_section


def _plain(obj: Any) -> Any:
    """A record object as a dict (to_dict when it has one)."""
    if obj is None or isinstance(obj, dict | list | str | int | float | bool):
        return obj
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


@dataclass
class ProbeParts:
    """What a probe measured, read from a ProbeResult, a Diagnosis or their dicts."""

    label: str
    curves: list[Curve]
    spectra: list[dict[str, Any]] = field(default_factory=list)
    health: Table | None = None
    lyapunov: dict[str, float | None] = field(default_factory=dict)  # layer -> top exponent
    recommendations: list[dict[str, Any]] = field(default_factory=list)
    verdict: str = "?"
    eps: float = DEFAULT_EPS
    spec: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    sensitivity: Table | None = None  # the curse of memory, per layer


def probe_parts(result: Any, *, label: str = "") -> ProbeParts:
    """Pick the profile, spectra, health, verdict and advice out of a probe result."""
    data = _plain(result)
    diag = _plain(first(data, "diagnosis", default=data))
    profile = _plain(first(diag, "profile", default=first(data, "profile")))
    curves = profile_curves(profile, readable=True)
    eps = number(first(diag, "eps", default=first(data, "eps"))) or DEFAULT_EPS
    spec = _plain(first(data, "spec", "probe_spec", default={})) or {}
    found = first(diag, "verdict", default=first(data, "verdict"))
    if found is None and curves:
        found = _worst([verdict(relative_profile(c.g), eps) for c in curves])
    return ProbeParts(
        label=label or describe(spec),
        curves=curves,
        spectra=[_plain(s) for s in as_list(first(diag, "spectra", default=[]))],
        health=health_table(first(diag, "health")),
        lyapunov=_top_exponents(first(diag, "lyapunov", default=[])),
        recommendations=[_plain(r) for r in as_list(first(diag, "recommendations", default=[]))],
        verdict=str(found or "?"),
        eps=eps,
        spec=spec if isinstance(spec, dict) else {},
        seconds=number(first(data, "seconds", "wall_time_s", "elapsed_s")),
        sensitivity=sensitivity_table(diag),
    )


def sensitivity_table(diag: Any) -> Table | None:
    """The curse of memory per layer: recurrent vs input sensitivity of h_T, and what is missing."""
    if not isinstance(diag, dict):
        return None
    layers = [_plain(s) for s in as_list(diag.get("sensitivity") or [])]
    threshold = number(diag.get("sensitivity_threshold")) or 10.0
    missing = {
        k.split(": ", 1)[1]: v
        for k, v in (diag.get("not_computed") or {}).items()
        if str(k).startswith("sensitivity: ")
    }
    if not layers and not missing:
        return None
    columns = ["layer", "ratio", "recurrent (RMS)", "input (RMS)", "verdict"]
    rows = []
    for s in layers:
        ratio = number(s.get("ratio"))
        over = ratio is not None and ratio >= threshold
        rows.append(
            [
                readable_layer(str(s.get("name"))),
                ratio,
                number(s.get("recurrent_rms")),
                number(s.get("input_rms")),
                "over-sensitive (curse of memory)" if over else "ok",
            ]
        )
    rows += [
        [readable_layer(name), None, None, None, f"not measured: {why}"]
        for name, why in missing.items()
    ]
    note = (
        f"ratio = RMS per parameter of dh_T/dtheta, recurrent over input parameters; "
        f"over-sensitive at {threshold:g}x or more"
    )
    return Table("", columns, rows, note=note)


def _top_exponents(dynamics: Any) -> dict[str, float | None]:
    """The largest Lyapunov exponent per layer name (per step; < 0 means contraction)."""
    out: dict[str, float | None] = {}
    for d in as_list(dynamics):
        d = _plain(d)
        if isinstance(d, dict) and d.get("name") is not None:
            exponents = as_list(d.get("exponents"))
            out[readable_layer(str(d["name"]))] = number(exponents[0]) if exponents else None
    return out


def _worst(verdicts: list[str]) -> str:
    order = ("non-finite", "exploding", "vanishing", "over-sensitive (curse of memory)", "healthy")
    return min(verdicts, key=order.index) if verdicts else "?"


def _percent(value: Any) -> str | None:
    v = number(value)
    return None if v is None else f"{100 * v:.3g}%"


def health_table(health: Any) -> Table | None:
    """Unit health per layer (saturation, dead units, gate means, forget timescale)."""
    health = _plain(health)
    if not isinstance(health, dict):
        return None
    rows = []
    for h in as_list(health.get("layers")):
        h = _plain(h)
        if not isinstance(h, dict):
            continue
        gates = h.get("gate_means") or {}
        rows.append(
            [
                readable_layer(str(h.get("name"))),
                _percent(h.get("saturated")),
                _percent(h.get("dead")),
                ", ".join(f"{g} {v:.3g}" for g, v in gates.items() if number(v) is not None),
                number(h.get("forget_timescale")),
            ]
        )
    if not rows:
        return None
    note = []
    for key, label in (
        ("subnormal_grads", "gradient entries"),
        ("subnormal_trace", "traced norms"),
    ):
        if (v := _percent(health.get(key))) is not None:
            note.append(f"subnormal {label}: {v}")
    columns = ["layer", "saturated", "dead units", "gate means", "forget timescale (steps)"]
    return Table("", columns, rows, note="; ".join(note))


def describe(spec: dict[str, Any]) -> str:
    """A short label of a probe spec: "lstm tanh default H64 T100"."""
    model = spec.get("model") if isinstance(spec.get("model"), dict) else spec
    if not isinstance(model, dict) or not model:
        return "probe"
    parts = [str(model.get("cell", "rnn"))]
    if model.get("cell", "rnn") == "rnn":
        parts.append(str(model.get("activation", "tanh")))
    parts.append(str(model.get("init", "default")))
    if model.get("hidden_size"):
        parts.append(f"H{model['hidden_size']}")
    seq_len = spec.get("seq_len") or (spec.get("task") or {}).get("seq_len")
    if seq_len:
        parts.append(f"T{seq_len}")
    return " ".join(parts)


def layer_rows(parts: ProbeParts) -> list[dict[str, Any]]:
    """Per-layer verdict, decay factor and horizon (flow vocabulary)."""
    rows = []
    for c in parts.curves:
        r = relative_profile(c.g)
        rows.append(
            {
                "layer": c.name,
                "verdict": verdict(r, parts.eps),
                "decay factor": decay_factor(r),
                "horizon": _beyond(horizon(r, parts.eps)),
                "T": int(c.g.size),
                "top Lyapunov exponent": parts.lyapunov.get(c.name),
            }
        )
    return rows


def _beyond(lag: int | None) -> int | str:
    return "beyond T" if lag is None else lag


def eigenvalues(spectrum: dict[str, Any]) -> list[complex]:
    """Eigenvalues stored as [[re, im], ...] (or {"real": [...], "imag": [...]})."""
    values = spectrum.get("eigenvalues") or []
    if isinstance(values, dict):
        return [
            complex(a, b)
            for a, b in zip(values.get("real", []), values.get("imag", []), strict=False)
        ]
    return [complex(v[0], v[1]) for v in values if isinstance(v, list | tuple) and len(v) == 2]


def spectrum_name(spectrum: dict[str, Any]) -> str:
    """ "lstm.l0 f" for a gate block, "rnn.l0" for a plain matrix."""
    gate = spectrum.get("gate")
    name = readable_layer(str(spectrum.get("name", "W_hh")))
    return f"{name} {gate}" if gate and gate != "h" else name


def probe_sections(parts: ProbeParts, *, key: str = "probe") -> list[Section]:
    """Verdict and profile, spectra, health and recommendations of one probe."""
    rows = layer_rows(parts)
    facts = [Fact("verdict", parts.verdict, tone_of(parts.verdict))]
    if rows:
        gamma = rows[0]["decay factor"]
        facts.append(
            Fact("decay factor γ̂ (first layer)", "n/a" if gamma != gamma else f"{gamma:.4g}")
        )
        facts.append(Fact(f"horizon (r_k < {parts.eps:g})", str(rows[0]["horizon"])))
    columns = ["layer", "verdict", "decay factor", "horizon", "T"]
    if parts.lyapunov:
        columns.append("top Lyapunov exponent")
    flow = Section(
        f"{key}-flow",
        f"Gradient flow: {parts.label}",
        intro="g_t is the mean norm of dL/dh_t over the batch; lag k = T - t.",
        facts=facts,
        figures=[profile_chart([(parts.label, parts.curves)], key=f"{key}-profile")]
        if parts.curves
        else [],
        tables=[Table("Per layer", columns, [[r[c] for c in columns] for r in rows])]
        if rows
        else [],
    )
    sections = [flow]
    if parts.spectra:
        matrices = [(spectrum_name(s), eigenvalues(s)) for s in parts.spectra]
        spec_cols = ["matrix", "spectral radius", "largest singular value"]
        spec_rows = [
            [spectrum_name(s), s.get("spectral_radius"), s.get("max_singular")]
            for s in parts.spectra
        ]
        sections.append(
            Section(
                f"{key}-spectra",
                "Recurrent matrices",
                intro="Eigenvalues outside the unit circle can make gradients explode; all well "
                "inside it make them vanish (with tanh, a largest singular value below 1 is "
                "enough for that).",
                figures=[spectrum_chart([m for m in matrices if m[1]], key=f"{key}-eigs")]
                if any(m[1] for m in matrices)
                else [],
                tables=[Table("", spec_cols, spec_rows)],
            )
        )
    if parts.sensitivity is not None:
        sections.append(
            Section(
                f"{key}-memory",
                "The curse of memory",
                intro="How much more the final state moves for the same change in a recurrent "
                "parameter than in an input parameter; it grows with the memory (|lambda| -> 1) "
                "even when no gradient vanishes or explodes.",
                tables=[parts.sensitivity],
            )
        )
    if parts.health is not None:
        sections.append(Section(f"{key}-health", "Unit health", tables=[parts.health]))
    if parts.recommendations:
        bullets = [
            ": ".join(str(r.get(k)) for k in ("finding", "advice") if r.get(k))
            for r in parts.recommendations
        ]
        sections.append(Section(f"{key}-advice", "Recommendations", bullets=bullets))
    return sections


def is_profile(data: Any) -> bool:
    """True when a JSON document is a bare GradientProfile (``profile.to_json()`` of a trace)."""
    layers = data.get("layers") if isinstance(data, dict) else None
    return (
        isinstance(layers, list)
        and bool(layers)
        and all(isinstance(layer, dict) and "g" in layer for layer in layers)
        and not any(k in data for k in ("diagnosis", "profile", "spectra"))
    )


def as_probe(data: Any, label: str) -> Any:
    """A bare profile as a probe result (its profile only, labelled); anything else as is."""
    return {"profile": data, "label": label} if is_profile(data) else data


def is_probe(data: Any) -> bool:
    """True when a JSON document looks like a probe result (or a list of them), a bare
    GradientProfile included."""
    if is_profile(data):
        return True
    if isinstance(data, list):
        return bool(data) and all(is_probe(d) for d in data)
    if isinstance(data, dict) and isinstance(data.get("results"), list):  # probe --compare --json
        return is_probe(data["results"])
    return isinstance(data, dict) and any(k in data for k in ("diagnosis", "profile", "spectra"))


def probe_document(path: Path, data: Any | None = None) -> Document:
    """The report of a probe JSON file (one probe or a list from a comparison), or of a
    GradientProfile saved with ``profile.to_json()``."""
    if data is None:
        data = validate_probe(as_probe(read_json(path), path.stem), file=path)
    results = data if isinstance(data, list) else data.get("results", [data])
    doc = Document(title=path.name, source=str(path), kind="probe")
    all_parts = [probe_parts(r) for r in results]
    if len(all_parts) > 1:
        doc.add(
            Section(
                "compare",
                "Comparison",
                figures=[
                    profile_chart(
                        [(p.label, p.curves) for p in all_parts], key="compare", cell=False
                    )
                ],
            )
        )
    for i, parts in enumerate(all_parts):
        for section in probe_sections(parts, key=f"probe{i}"):
            doc.add(section)
    doc.add(
        environment_section(
            meta=first(data, "environment", default={}) if isinstance(data, dict) else {}
        )
    )
    return doc
