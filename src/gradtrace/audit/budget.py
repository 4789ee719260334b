"""Audit budgets: how long the training runs are, which lengths they reach, how big the probes are.

The training claims take every setting of their runs (model size, optimizer, clipping, per-run
step and time budget, seeds) from a study preset, so that a run of the audit has exactly the key
of the same run in that preset's study and one can stand in for the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from gradtrace.audit.claim import Finding, RunRequest
from gradtrace.errors import check_choice


@dataclass(frozen=True)
class Budget:
    """Sizes and training settings of one audit budget (plain data; see BUDGETS)."""

    name: str
    preset: str  # the study preset whose [model]/[train]/[budget] the training runs use
    seeds: tuple[int, ...]
    short_lens: tuple[int, ...]  # "short sequences" for the training claims
    long_len: int  # a length at which a tanh RNN is expected to fail
    longest_len: int  # the longest length trained (LSTM / GRU)
    trace_len: int  # T of the gradient measurements on untrained models
    trace_hidden: int
    trace_batch: int
    timing_len: int
    timing_batch: int
    timing_repeats: int
    overrides: dict[str, Any] = field(default_factory=dict)  # changes to the preset (tests)
    lm_steps: int = 400  # SGD steps of each character-level language model (audit/language.py)
    data_steps: int = 600  # Adam steps of each finite-training-set run (audit/data_size.py)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return asdict(self)

    def study_settings(self) -> dict[str, Any]:
        """The preset's study dict with this budget's overrides (model / train / budget)."""
        from gradtrace.study.presets import PRESETS

        base = dict(PRESETS[self.preset])
        for section, values in self.overrides.items():
            base[section] = {**base.get(section, {}), **values}
        return base

    def describe(self) -> str:
        """One line: what the training runs and probes of this budget are."""
        study = self.study_settings()
        model, budget = study.get("model", {}), study.get("budget", {})
        return (
            f"{self.name}: training as study preset {self.preset!r} (hidden "
            f"{model.get('hidden_size', 64)}, at most {budget.get('max_steps')} steps or "
            f"{budget.get('max_seconds')} s per run, seeds {list(self.seeds)}), adding problem at "
            f"T = {', '.join(map(str, self.lengths()))}; probes T = {self.trace_len}, "
            f"H = {self.trace_hidden}"
        )

    def lengths(self) -> tuple[int, ...]:
        """Every sequence length the training claims may use, sorted."""
        return tuple(sorted({*self.short_lens, self.long_len, self.longest_len}))


BUDGETS: dict[str, Budget] = {
    "quick": Budget(
        name="quick",
        preset="quick",
        seeds=(0,),
        short_lens=(10, 25),
        long_len=100,
        longest_len=100,
        trace_len=200,
        trace_hidden=64,
        trace_batch=16,
        timing_len=100,
        timing_batch=64,
        timing_repeats=15,
        lm_steps=200,
        data_steps=300,
    ),
    "standard": Budget(
        name="standard",
        preset="standard",
        seeds=(0, 1, 2),
        short_lens=(10, 25),
        long_len=100,
        longest_len=200,
        trace_len=400,
        trace_hidden=64,
        trace_batch=32,
        timing_len=200,
        timing_batch=64,
        timing_repeats=25,
    ),
    "full": Budget(
        name="full",
        preset="full",
        seeds=(0, 1, 2, 3, 4),
        short_lens=(10, 25),
        long_len=200,
        longest_len=1000,
        trace_len=1000,
        trace_hidden=128,
        trace_batch=32,
        timing_len=200,
        timing_batch=64,
        timing_repeats=15,
        lm_steps=1000,
        data_steps=1500,
    ),
}

# the smallest budget that trains an LSTM at T >= 1000 (what "not tested at this budget" points to)
LONG_RANGE = 1000


def get_budget(name: str) -> Budget:
    """The budget ``name`` (quick, standard or full); InvalidValue names --budget otherwise."""
    check_choice("--budget", name, BUDGETS)
    return BUDGETS[name]


def smallest_budget_reaching(seq_len: int) -> str | None:
    """The name of the smallest budget whose longest trained length is >= ``seq_len``."""
    for name, budget in BUDGETS.items():
        if budget.longest_len >= seq_len:
            return name
    return None


def needs_more(verdict: str, budget: Budget) -> str | None:
    """For a claim ``budget`` could not decide: the next larger budget to try (else None)."""
    if verdict != "not tested at this budget":
        return None
    names = list(BUDGETS)
    later = names[names.index(budget.name) + 1 :] if budget.name in names else names
    return f"--budget {later[0]} (more seeds, longer runs)" if later else "a larger budget"


def budget_finding(verdict: str, summary: str, evidence: dict[str, Any], budget: Budget) -> Finding:
    """The Finding of a claim judged at ``budget``; an undecided one names the budget to try."""
    return Finding(verdict, summary, evidence, needs=needs_more(verdict, budget))  # type: ignore[arg-type]


def runs_at(
    *variants: str, lengths: Callable[[Budget], tuple[int, ...]]
) -> Callable[[Budget], list[RunRequest]]:
    """A claim's ``runs=``: each study variant trained at the lengths ``lengths(budget)``."""
    return lambda budget: [RunRequest(variant, lengths(budget)) for variant in variants]


# a budget for tests: tiny models, a few dozen steps, a second or two per run
TINY = Budget(
    name="tiny",
    preset="quick",
    seeds=(0,),
    short_lens=(6,),
    long_len=30,
    longest_len=30,
    trace_len=40,
    trace_hidden=16,
    trace_batch=4,
    timing_len=20,
    timing_batch=8,
    timing_repeats=3,
    overrides={
        "model": {"hidden_size": 8},
        "train": {"batch_size": 16, "eval_every": 20, "eval_batch_size": 64, "profiles": True},
        "budget": {"max_steps": 40, "max_seconds": 3.0},
    },
    lm_steps=3,
    data_steps=3,
)
