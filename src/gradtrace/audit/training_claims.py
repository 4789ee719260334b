"""Claims decided by training runs (study store): sequence length, ReLU, LSTM / GRU.

Each claim lists the runs it reads (``runs=``), and its verdict comes from a pure ``judge_*``
function of the runs' outcomes, so that every branch of the rule is tested on made-up outcomes.
"""

from __future__ import annotations

from typing import Any

from gradtrace.audit.budget import LONG_RANGE, budget_finding, runs_at, smallest_budget_reaching
from gradtrace.audit.claim import Finding, claim
from gradtrace.audit.context import solved_share

TANH, RELU, LEAKY, LSTM, GRU = "tanh RNN", "ReLU RNN", "leaky ReLU RNN", "LSTM", "GRU"
SOLVES = 0.5  # a variant "solves" a length when at least half of its seeds do

Outcomes = list[dict[str, Any]]


def _share(outcomes: Outcomes) -> str:
    share = solved_share(outcomes)
    return "no run" if share is None else f"{share:.0%}"


def _plateau(outcomes: Outcomes) -> float | None:
    ratios = [o["metric_over_baseline"] for o in outcomes if o["metric_over_baseline"] is not None]
    return min(ratios) if ratios else None


def judge_length(short: dict[int, Outcomes], long: Outcomes, long_len: int) -> tuple[str, str]:
    """Length sensitivity of the tanh RNN from its outcomes at short lengths and at long_len."""
    if not long or not all(short.values()):
        return "not tested at this budget", "the training runs are missing"
    solved_short = [t for t, o in short.items() if (solved_share(o) or 0) >= SOLVES]
    at_long = solved_share(long) or 0.0
    plateau = _plateau(long)
    text = ", ".join(f"T = {t}: {_share(o)}" for t, o in short.items())
    text += f", T = {long_len}: {at_long:.0%} solved"
    if plateau is not None:
        text += f" (final held-out MSE {plateau:.2f}x the input-blind baseline)"
    if solved_short and at_long == 0:
        return "confirmed", f"tanh RNN on the adding problem: {text}"
    if not solved_short:
        return "not tested at this budget", f"fails even the short sequences here: {text}"
    return "nuanced", f"still learns the long sequences at this budget: {text}"


def judge_relu(by_variant: dict[str, dict[int, Outcomes]], long_len: int) -> tuple[str, str]:
    """ReLU / Leaky ReLU RNNs: learn the short lengths, and fail (or not) at long_len."""
    parts, verdicts = [], []
    for variant, by_len in by_variant.items():
        if not all(by_len.values()):
            return "not tested at this budget", "the training runs are missing"
        short = {t: o for t, o in by_len.items() if t != long_len}
        short_ok = all((solved_share(o) or 0) >= SOLVES for o in short.values())
        long_ok = (solved_share(by_len[long_len]) or 0) >= SOLVES
        verdicts.append(
            "confirmed" if short_ok and not long_ok else "nuanced" if short_ok else "untested"
        )
        parts.append(f"{variant} " + ", ".join(f"T={t}: {_share(o)}" for t, o in by_len.items()))
    text = "; ".join(parts)
    if all(v == "confirmed" for v in verdicts):
        return "confirmed", f"solved the short lengths only: {text}"
    if "untested" in verdicts:
        return "not tested at this budget", f"does not solve even the short lengths here: {text}"
    return "nuanced", f"also solves longer sequences at this budget: {text}"


def judge_gated(lstm: Outcomes, gru: Outcomes, rnn: Outcomes, seq_len: int) -> tuple[str, str]:
    """LSTM and GRU solve seq_len where the tanh RNN does not."""
    if not lstm or not gru or not rnn:
        return "not tested at this budget", "the training runs are missing"
    shares = {
        name: solved_share(o) or 0.0
        for name, o in (("LSTM", lstm), ("GRU", gru), ("tanh RNN", rnn))
    }
    text = f"adding T = {seq_len} solved: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items())
    gated = [k for k in ("LSTM", "GRU") if shares[k] >= SOLVES]
    if len(gated) == 2 and shares["tanh RNN"] < SOLVES:
        return "confirmed", text
    if not gated:
        return "not tested at this budget", f"neither gated cell learned it in the budget: {text}"
    if shares["tanh RNN"] >= SOLVES:
        return "nuanced", f"the tanh RNN learns this length too: {text}"
    return "nuanced", f"only {gated[0]} learned it: {text}"


def judge_on_par(lstm: Outcomes, gru: Outcomes, seq_len: int) -> tuple[str, str]:
    """GRU and LSTM: same solve rate, and steps to solve within a factor 2."""
    if not lstm or not gru:
        return "not tested at this budget", "the training runs are missing"
    a, b = solved_share(lstm) or 0.0, solved_share(gru) or 0.0
    text = f"T = {seq_len}: LSTM solved {a:.0%}, GRU {b:.0%}"
    if a == 0 and b == 0:
        return "not tested at this budget", f"neither solved the task: {text}"
    if a != b:
        seeds = min(len(lstm), len(gru))
        verdict = "refuted" if seeds >= 3 and abs(a - b) >= 0.5 else "nuanced"
        return verdict, f"{text} ({seeds} seed{'s' if seeds > 1 else ''})"
    steps = [
        _median([o["steps_to_solve"] for o in runs if o["steps_to_solve"]]) for runs in (lstm, gru)
    ]
    ratio = steps[1] / steps[0]
    text += f"; median steps to solve LSTM {steps[0]:.0f}, GRU {steps[1]:.0f}"
    if 0.5 <= ratio <= 2.0:
        return "confirmed", text
    better = "GRU" if ratio < 1 else "LSTM"
    return "nuanced", f"{text}: the {better} learned it more than twice as fast"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _short_and_long(budget: Any) -> tuple[int, ...]:
    return (*budget.short_lens, budget.long_len)


def _longest(budget: Any) -> tuple[int, ...]:
    return (budget.longest_len,)


@claim(
    id="rnn-length-sensitivity",
    seeds=("001", "002"),
    text="A standard RNN's performance drops quickly as sequences get longer; its loss "
    "plateaus early and long-range dependencies are not learned.",
    method="tanh RNNs trained on the adding problem at short and long lengths (study preset "
    "settings); held-out MSE against the input-blind baseline",
    theme="training",
    runs=runs_at(TANH, lengths=_short_and_long),
)
def rnn_length_sensitivity(ctx: Any) -> Finding:
    """Solved at short T, at the baseline at long T."""
    budget = ctx.budget
    short = {t: ctx.outcomes(TANH, t) for t in budget.short_lens}
    long = ctx.outcomes(TANH, budget.long_len)
    verdict, summary = judge_length(short, long, budget.long_len)
    evidence = {"short": {str(t): o for t, o in short.items()}, "long": long}
    return budget_finding(verdict, summary, evidence, budget)


@claim(
    id="relu-rnn-short-sequences",
    seeds=("000",),
    text="ReLU and Leaky ReLU RNNs are a good fit for sequences of about 10 to 20 steps.",
    method="ReLU and Leaky ReLU RNNs trained on the adding problem at short lengths and at a "
    "long one (study preset settings)",
    theme="training",
    runs=runs_at(RELU, LEAKY, lengths=_short_and_long),
)
def relu_rnn_short_sequences(ctx: Any) -> Finding:
    """Solved at the short lengths; at the long one they fail (confirmed) or not (nuanced)."""
    budget = ctx.budget
    lens = _short_and_long(budget)
    by_variant = {v: {t: ctx.outcomes(v, t) for t in lens} for v in (RELU, LEAKY)}
    verdict, summary = judge_relu(by_variant, budget.long_len)
    evidence = {v: {str(t): o for t, o in runs.items()} for v, runs in by_variant.items()}
    return budget_finding(verdict, summary, evidence, budget)


@claim(
    id="gated-cells-long-sequences",
    seeds=("000", "002", "003"),
    text="LSTMs and GRUs learn long-range dependencies (over 100 steps) that plain RNNs cannot.",
    method="LSTM, GRU and tanh RNN trained on the adding problem at the budget's longest "
    "length (study preset settings)",
    theme="training",
    runs=runs_at(LSTM, GRU, TANH, lengths=_longest),
)
def gated_cells_long_sequences(ctx: Any) -> Finding:
    """LSTM and GRU solve the longest length; the tanh RNN does not."""
    T = ctx.budget.longest_len
    runs = {v: ctx.outcomes(v, T) for v in (LSTM, GRU, TANH)}
    verdict, summary = judge_gated(runs[LSTM], runs[GRU], runs[TANH], T)
    return budget_finding(verdict, summary, {"runs": runs, "T": T}, ctx.budget)


@claim(
    id="gru-on-par-with-lstm",
    seeds=("003",),
    text="A GRU often performs as well as an LSTM.",
    method="solve rate and steps to solve of LSTM and GRU on the adding problem at the "
    "budget's longest length",
    theme="training",
    runs=runs_at(LSTM, GRU, lengths=_longest),
)
def gru_on_par_with_lstm(ctx: Any) -> Finding:
    """Same solve rate and steps within 2x."""
    T = ctx.budget.longest_len
    lstm, gru = ctx.outcomes(LSTM, T), ctx.outcomes(GRU, T)
    verdict, summary = judge_on_par(lstm, gru, T)
    evidence = {"LSTM": lstm, "GRU": gru, "T": T}
    return budget_finding(verdict, summary, evidence, ctx.budget)


@claim(
    id="lstm-1000-steps",
    seeds=("000",),
    text="LSTMs handle dependencies across more than 1,000 time steps.",
    method="an LSTM trained on the adding problem at T = 1000 (only budgets that reach it); "
    "smaller budgets report the longest length they trained",
    theme="training",
    runs=runs_at(LSTM, lengths=_longest),
)
def lstm_1000_steps(ctx: Any) -> Finding:
    """Trained at T >= 1000 when the budget allows; otherwise says which T was tested."""
    budget = ctx.budget
    T = budget.longest_len
    runs = ctx.outcomes(LSTM, T)
    share = solved_share(runs)
    evidence = {"T_tested": T, "runs": runs}
    if T < LONG_RANGE:
        needed = smallest_budget_reaching(LONG_RANGE)
        tested = "no run" if share is None else f"LSTM solved {share:.0%} at T = {T}"
        return Finding(
            "not tested at this budget",
            f"the longest length trained at budget {budget.name} is T = {T} ({tested})",
            evidence,
            needs=f"--budget {needed} (adding problem at T = {LONG_RANGE})" if needed else None,
        )
    if share is None:
        return Finding("not tested at this budget", "the training runs are missing", evidence)
    verdict = "confirmed" if share >= SOLVES else "nuanced"
    return Finding(verdict, f"LSTM solved {share:.0%} of the runs at T = {T}", evidence)  # type: ignore[arg-type]
