"""Claims about scalar decay: the seeds' printed tables against gamma^k, cell by cell."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.measure import num

# the decay table as the seed prints it: factor -> printed value after 10, 20, 50 steps
SEED_DECAY_TABLE: dict[float, tuple[str, str, str]] = {
    0.9: ("0.348", "0.121", "0.005"),
    0.7: ("0.028", "0.0008", "1.7e-8"),
    0.5: ("0.0009", "9.5e-7", "8.8e-16"),
    0.3: ("5.9e-6", "3.4e-11", "7.1e-27"),
}
SEED_DECAY_STEPS = (10, 20, 50)
# the scalar example of the textbook chapter: (factor, steps, printed value or None)
SEED_SCALAR_EXAMPLE: tuple[tuple[float, int, str | None], ...] = (
    (0.9, 10, "0.35"),
    (0.9, 50, "0.005"),
    (0.9, 100, "0.000026"),
    (0.5, 20, None),  # the row gives no value
)


def compare_printed(printed: str, exact: float) -> dict[str, Any]:
    """How a printed value relates to the exact one: rounded, truncated or off (last digit)."""
    shown = Decimal(printed)
    quantum = Decimal(1).scaleb(shown.as_tuple().exponent)
    value = Decimal(exact)
    rounded = value.quantize(quantum, ROUND_HALF_UP)
    truncated = value.quantize(quantum, ROUND_DOWN)
    relation = "rounded" if rounded == shown else "truncated" if truncated == shown else "off"
    return {
        "printed": printed,
        "exact": exact,
        "rounded_to_same_digits": str(rounded),
        "relation": relation,
        "relative_error": (float(shown) - exact) / exact,
    }


def _table_verdict(cells: list[dict[str, Any]]) -> tuple[str, str]:
    relations = [c["relation"] for c in cells if c.get("relation")]
    off = relations.count("off")
    truncated = relations.count("truncated")
    if off:
        return (
            "refuted",
            f"{off} of {len(relations)} printed values are wrong beyond the last digit",
        )
    if truncated:
        return (
            "nuanced",
            f"{len(relations) - truncated} of {len(relations)} printed values are rounded, "
            f"{truncated} truncated (last digit one too low), none wrong beyond that",
        )
    return "confirmed", f"all {len(relations)} printed values are gamma^k correctly rounded"


@claim(
    id="decay-table",
    seeds=("000",),
    text="A per-step factor gamma leaves gamma^k of the gradient after k steps; the table "
    "gives the values for gamma = 0.9, 0.7, 0.5, 0.3 after 10, 20 and 50 steps.",
    method="every printed cell against gamma^k from gradtrace.simulate.decay_table (exact)",
    theme="theory",
)
def decay_table_claim(ctx: Any) -> Finding:
    """Each cell of the seed's decay table: printed value, exact value, rounded or truncated."""
    from gradtrace.simulate import decay_table

    table = decay_table(tuple(SEED_DECAY_TABLE), SEED_DECAY_STEPS)
    cells = []
    for row in table.rows:
        for steps, value, printed in zip(
            table.steps, row.values, SEED_DECAY_TABLE[row.factor], strict=True
        ):
            cells.append({"gamma": row.factor, "steps": steps, **compare_printed(printed, value)})
    verdict, text = _table_verdict(cells)
    worst = max(cells, key=lambda c: abs(c["relative_error"]))
    example = next((c for c in cells if c["relation"] == "truncated"), worst)
    summary = (
        f"{text}; e.g. {example['gamma']}^{example['steps']} = {example['exact']:.4g} printed "
        f"{example['printed']}"
    )
    return Finding(verdict, summary, {"cells": cells})


@claim(
    id="scalar-decay-example",
    seeds=("002",),
    text="A scalar recurrence with factor 0.9 keeps about 0.35 of the gradient after 10 steps, "
    "0.005 after 50 and 0.000026 after 100.",
    method="each printed value against 0.9^k (exact); the 0.5 / 20 row has no value to check",
    theme="theory",
)
def scalar_decay_example(ctx: Any) -> Finding:
    """The scalar example's printed values against gamma^k."""
    cells = []
    for factor, steps, printed in SEED_SCALAR_EXAMPLE:
        exact = factor**steps
        if printed is None:
            cells.append({"gamma": factor, "steps": steps, "printed": None, "exact": exact})
            continue
        cells.append({"gamma": factor, "steps": steps, **compare_printed(printed, exact)})
    verdict, text = _table_verdict(cells)
    hundred = next(c for c in cells if c["steps"] == 100)
    summary = (
        f"{text}: 0.9^100 = {hundred['exact']:.4g} printed {hundred['printed']}; the 0.5 / 20 "
        f"row prints no value (exact {0.5**20:.3g})"
    )
    return Finding(verdict, summary, {"cells": cells})


@claim(
    id="scalar-factor-regimes",
    seeds=("002", "003"),
    text="Repeated scaling by a factor below 1 decays, by exactly 1 preserves and above 1 "
    "grows exponentially; small deviations from 1 matter over many steps.",
    method="gamma^k and steps until 1e-3 (or 1e3) from gradtrace.simulate.steps_until",
    theme="theory",
)
def scalar_factor_regimes(ctx: Any) -> Finding:
    """0.5, 0.9, 1.0, 1.1 over 100 steps, and steps until eps."""
    from gradtrace.simulate import steps_until

    factors = (0.5, 0.9, 1.0, 1.1)
    rows = {
        str(f): {"after_100": f**100, "steps_until_1e-3": steps_until(f, 1e-3).steps}
        for f in factors
    }
    ok = rows["0.5"]["after_100"] < 1e-20 and rows["1.0"]["after_100"] == 1.0
    ok = ok and rows["1.1"]["after_100"] > 1e4 and rows["0.9"]["after_100"] < 1e-4
    return Finding(
        "confirmed" if ok else "refuted",
        f"after 100 steps: 0.5 -> {num(rows['0.5']['after_100'])}, 0.9 -> "
        f"{num(rows['0.9']['after_100'])}, 1.0 -> 1, 1.1 -> {num(rows['1.1']['after_100'])}",
        {"factors": rows, "eps": 1e-3},
    )
