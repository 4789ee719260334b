"""``gradtrace probe``'s Rich report: one spec in full, or several compared in one table."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gradtrace.display import readable_layer

BAR_WIDTH = 24


def _fmt(value: float | None) -> str:
    from gradtrace.diagnosis.advice import num

    if value is None:
        return "-"
    return num(value)


def _bar(r: float, eps: float) -> Text:
    """A bar whose length is log10 r on a scale from eps^2 (empty) to 1 (full)."""
    if r is None or not math.isfinite(r) or r <= 0:
        return Text("")
    floor = 2 * math.log10(eps)
    share = (math.log10(r) - floor) / -floor
    cells = max(0, min(BAR_WIDTH, round(share * BAR_WIDTH)))
    style = "red" if r > 1 / eps else ("green" if r >= eps else "yellow")
    return Text("█" * cells + ("▶" if r > 1 else ""), style=style)


def _horizon(result) -> str:
    return "beyond T" if result.horizon is None else f"{result.horizon} steps"


def render_one(result) -> Group:
    """The single-spec report: curve, decay, spectra, Lyapunov exponents, health, advice."""
    d = result.diagnosis
    spec = result.spec
    head = Text.assemble(
        ("gradtrace probe  ", "bold"),
        (f"{result.label}", "bold cyan"),
        f"  T={spec.seq_len} batch={spec.batch_size} {spec.dtype} seed={spec.seed}",
        f" task={spec.task}" if spec.task else "",
    )
    curve = Table(
        title=f"gradient reaching lag k ({readable_layer(result.layer)})", title_justify="left"
    )
    curve.add_column("lag k", justify="right")
    curve.add_column("g_{T-k}", justify="right")
    curve.add_column("r_k", justify="right")
    curve.add_column("log scale, eps^2 .. 1")
    for lag, g, r in zip(result.lags, result.g, result.relative, strict=True):
        curve.add_row(str(lag), _fmt(g), _fmt(r), _bar(r, spec.eps))
    verdict_style = {
        "healthy": "green",
        "vanishing": "yellow",
        "over-sensitive (curse of memory)": "yellow",
    }.get(d.verdict, "red")
    lines = [
        Text.assemble("verdict ", (d.verdict, f"bold {verdict_style}")),
        Text(f"gamma_hat {_fmt(result.gamma_hat)}: {result.sentence(50)}"),
        Text(f"horizon (r_k < {_fmt(spec.eps)}): {_horizon(result)} of T = {spec.seq_len}"),
    ]
    return Group(head, curve, *lines, _spectra(d), _dynamics(d), _memory(d), _health(d), _advice(d))


def _memory(d) -> Table:
    table = Table(
        title="the curse of memory: sensitivity of h_T to the recurrent vs input parameters",
        title_justify="left",
    )
    for name in ("layer", "ratio", "recurrent (RMS)", "input (RMS)", "verdict"):
        table.add_column(name, justify="left" if name in ("layer", "verdict") else "right")
    for s in d.sensitivity:
        over = s.over_sensitive(d.sensitivity_threshold)
        table.add_row(
            readable_layer(s.name),
            f"{_fmt(s.ratio)}x",
            _fmt(s.recurrent_rms),
            _fmt(s.input_rms),
            "over-sensitive" if over else "ok",
        )
    skipped = [k.split(": ", 1)[1] for k in d.not_computed if k.startswith("sensitivity: ")]
    if skipped:
        table.caption = f"not measured (see not computed): {', '.join(skipped)}"
    return table


def _spectra(d) -> Table:
    table = Table(title="recurrent matrices", title_justify="left")
    for name in ("matrix", "gate", "spectral radius", "max singular value"):
        table.add_column(name, justify="left" if name in ("matrix", "gate") else "right")
    for s in d.spectra:
        table.add_row(readable_layer(s.name), s.gate, _fmt(s.spectral_radius), _fmt(s.max_singular))
    return table


def _dynamics(d) -> Table:
    table = Table(
        title="Lyapunov exponents per step (top k) and Jacobian products", title_justify="left"
    )
    table.add_column("layer")
    table.add_column("exponents")
    table.add_column("||J_T ... J_{T-k+1}||_2 at lag k")
    for dyn in d.lyapunov:
        norms = "-"
        if dyn.product_norms:
            at = dict(zip(dyn.lags, dyn.product_norms, strict=True))
            picks = dict.fromkeys(k for k in (1, 10, 100, dyn.lags[-1]) if k in at)
            norms = "  ".join(f"k={k}: {_fmt(at[k])}" for k in picks)
        exps = " ".join(_fmt(e) for e in dyn.exponents[:4])
        table.add_row(
            readable_layer(dyn.name), exps + (" ..." if len(dyn.exponents) > 4 else ""), norms
        )
    return table


def _health(d) -> Table:
    table = Table(title="unit health", title_justify="left")
    for name in ("layer", "saturated", "dead", "gates (mean)"):
        table.add_column(name)
    for h in d.health.layers:
        gates = " ".join(f"{k} {_fmt(v)}" for k, v in h.gate_means.items())
        if h.forget_timescale is not None:
            gates += f" (memory ~{_fmt(h.forget_timescale)} steps)"
        table.add_row(
            readable_layer(h.name),
            "-" if h.saturated is None else f"{_fmt(100 * h.saturated)}%",
            "-" if h.dead is None else f"{_fmt(100 * h.dead)}% ({h.dead_units})",
            gates or "-",
        )
    sub = d.health
    table.caption = (
        "subnormal floats: "
        + (
            "parameter gradients not taken, "
            if sub.subnormal_grads is None
            else f"{_fmt(100 * sub.subnormal_grads)}% of parameter gradients, "
        )
        + f"{_fmt(100 * sub.subnormal_trace)}% of traced norms"
    )
    return table


def _advice(d) -> Group:
    if not d.recommendations:
        return Group(Text("recommendations: none; the gradient reaches every step", style="green"))
    lines = [Text("recommendations", style="bold")]
    for r in d.recommendations:
        lines.append(Text.assemble(f" [{r.code}] ", (r.finding, "yellow"), f"\n     -> {r.advice}"))
    return Group(*lines)


def render_compare(results) -> Group:
    """The comparison: r_k at each lag per spec, then one summary row per spec."""
    eps = results[0].spec.eps
    table = Table(title="r_k = g_{T-k} / g_T by lag", title_justify="left")
    table.add_column("lag k", justify="right", no_wrap=True)
    for result in results:
        table.add_column(result.label, justify="right", overflow="fold")
    lags = sorted({lag for result in results for lag in result.lags})
    for lag in lags:
        cells = []
        for result in results:
            at = dict(zip(result.lags, result.relative, strict=True))
            cells.append(_fmt(at.get(lag)))
        table.add_row(str(lag), *cells)
    table.add_section()
    table.add_row("gamma_hat", *[_fmt(r.gamma_hat) for r in results])
    table.add_row(f"horizon (eps {_fmt(eps)})", *[_horizon(r) for r in results])
    table.add_row("verdict", *[r.verdict for r in results])
    table.add_row(
        "top Lyapunov exp.",
        *[
            _fmt(r.diagnosis.lyapunov[0].top_exponent if r.diagnosis.lyapunov else None)
            for r in results
        ],
    )
    table.add_row(
        "memory sensitivity",
        *[
            f"{_fmt(max(s.ratio for s in r.diagnosis.sensitivity))}x"
            if r.diagnosis.sensitivity
            else "-"
            for r in results
        ],
    )
    table.add_row(
        "advice",
        *["\n".join(a.code for a in r.diagnosis.recommendations) or "none" for r in results],
    )
    sentences = [Text(f"{r.label}: {r.sentence(50)}") for r in results]
    return Group(table, *sentences)
