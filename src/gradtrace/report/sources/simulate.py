"""Reports of the JSON that ``gradtrace simulate ... --json`` and ``gradtrace audit --json`` print.

A simulate record ({"command", "params", "results"}) becomes a section with its table and a
figure drawn from the same numbers; a tour becomes one section per part. An audit report
({"results": [claim results], "counts"}) becomes the claims table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gradtrace.display import Summary
from gradtrace.report.charts import loss_chart
from gradtrace.report.document import Document, Section, Table
from gradtrace.report.sources.audit import audit_section
from gradtrace.report.sources.environment import environment_section
from gradtrace.report.spec import FigureSpec, Series, clean, color

COMMANDS = ("decay", "layers", "activations", "matrix")


def is_simulation(data: Any) -> bool:
    """A ``simulate <command> --json`` record, or a tour of them."""
    return (
        isinstance(data, dict)
        and data.get("command") in (*COMMANDS, "tour")
        and isinstance(data.get("results"), dict)
    )


def is_audit(data: Any) -> bool:
    """An ``audit --json`` report: a list of claim results with their verdicts."""
    results = data.get("results") if isinstance(data, dict) else None
    return (
        isinstance(results, list)
        and bool(results)
        and all(isinstance(r, dict) and "verdict" in r and "claim" in r for r in results)
    )


def _table(summary: Summary) -> Table:
    return Table(summary.title, list(summary.columns), [list(r) for r in summary.rows])


def _power(log10: Any) -> float | None:
    return None if log10 is None else 10.0 ** max(-300.0, min(300.0, float(log10)))


def _decay(record: dict[str, Any], key: str) -> Section:
    from gradtrace.display import decay_summary
    from gradtrace.simulate.decay import DecayTable

    table = DecayTable.from_dict(record)
    series = tuple(
        Series(
            f"gamma = {row.factor:g}",
            list(table.steps),
            clean([_power(v) for v in row.log10]),
            mode="lines+markers",
            color=color(i),
        )
        for i, row in enumerate(table.rows)
    )
    figure = FigureSpec(
        f"{key}-decay", "gamma^k after k steps", "steps k", "gamma^k", y_log=True, series=series
    )
    return Section(key, "Decay: gamma^k", figures=[figure], tables=[_table(decay_summary(table))])


def _layers(record: dict[str, Any], key: str) -> Section:
    layers = record["results"]["layers"]
    rows = [[str(r["layer"]), str(r["exponent"]), r["text"]] for r in layers]
    series = (
        Series(
            "relative gradient",
            [float(r["layer"]) for r in layers],
            clean([_power(r["log10"]) for r in layers]),
            mode="lines+markers",
            color=color(0),
        ),
    )
    figure = FigureSpec(
        f"{key}-layers",
        "Gradient reaching each layer",
        "layer (1 = farthest)",
        "gradient / last layer's",
        y_log=True,
        series=series,
    )
    table = Table(f"w = {record['params']['weight_scale']:g}", ["layer", "exponent", "value"], rows)
    verdict = str(record["results"].get("verdict", ""))
    return Section(key, "Layers: w^(L-l)", intro=verdict, figures=[figure], tables=[table])


def _activations(record: dict[str, Any], key: str) -> Section:
    sigmas = [float(s) for s in record["params"]["sigmas"]]
    rows, series = [], []
    for i, row in enumerate(record["results"]["rows"]):
        rows.append(
            [row["name"], f"{row['sup_derivative']:.3g}", row["sup_at"]]
            + [f"{m:.3g}" for m in row["mean"]]
        )
        series.append(
            Series(row["name"], sigmas, clean(row["mean"]), mode="lines+markers", color=color(i))
        )
    columns = ["activation", "sup phi'", "at", *(f"E phi' (sigma {s:g})" for s in sigmas)]
    figure = FigureSpec(
        f"{key}-activations",
        "Mean derivative against pre-activation spread",
        "sigma of the pre-activation",
        "E phi'(a)",
        x_log=True,
        y_log=True,
        series=tuple(series),
    )
    return Section(
        key, "Activations: phi'", figures=[figure], tables=[Table("Derivatives", columns, rows)]
    )


def _matrix(record: dict[str, Any], key: str) -> Section:
    results = record["results"]
    lags = [float(k) for k in results["lags"]]
    norms = clean([_power(v) for v in results["log10_norms"]])
    figure = loss_chart(
        [("||dh_T/dh_{T-k}||_2", lags, norms)],
        key=f"{key}-matrix",
        title="Jacobian products through time",
        y_title="||dh_T/dh_{T-k}||_2",
        y_log=True,
    )
    figure = FigureSpec(**{**figure.__dict__, "x_title": "lag k"})
    facts = [
        [
            name,
            f"{results[name]:.4g}"
            if isinstance(results.get(name), float)
            else str(results.get(name)),
        ]
        for name in ("gamma_hat", "sigma_max", "spectral_radius", "horizon", "verdict")
        if name in results
    ]
    return Section(
        key,
        "Matrix: Jacobian products",
        figures=[figure],
        tables=[Table("Measured", ["quantity", "value"], facts)],
    )


_SECTIONS = {"decay": _decay, "layers": _layers, "activations": _activations, "matrix": _matrix}


def simulation_document(path: Path, data: dict[str, Any]) -> Document:
    """The report of a simulate JSON (one command, or a tour of four)."""
    doc = Document(title=path.name, source=str(path), kind="simulate")
    if data["command"] == "tour":
        for i, part in enumerate(data["results"].get("parts", [])):
            for j, record in enumerate(part.get("records", [])):
                if record.get("command") in _SECTIONS:
                    section = _SECTIONS[record["command"]](record, f"part{i}-{j}")
                    section.intro = part.get("notice", section.intro)
                    doc.add(section)
    else:
        doc.add(_SECTIONS[data["command"]](data, data["command"]))
    doc.add(environment_section(meta={}))
    return doc


def audit_document(path: Path, data: dict[str, Any]) -> Document:
    """The report of an ``audit --json`` file: the claims table with verdicts and evidence."""
    doc = Document(title=path.name, source=str(path), kind="audit")
    doc.add(audit_section({r.get("id", str(i)): r for i, r in enumerate(data["results"])}))
    doc.add(environment_section(meta={}))
    return doc
