"""Learning-rate tuning by synchronous successive halving, selected on held-out data.

The protocol (docs/protocol.md): each (variant, task, T) cell searches a log grid of learning
rates on a tuning seed that no reported run uses. Rung i trains every surviving rate for
max_steps / eta^(rungs-1-i) steps; the best 1/eta (rounded up) go on to the next rung. Rates
are ranked on the held-out batch: solved first (fewer steps to solve is better), then by the
best held-out metric as a fraction of the way from chance level to perfect, then diverged or
failed; ties go to the smaller rate. Training is deterministic and a run with a smaller step
budget is a prefix of one with a larger budget, so a rate solved at rung i cannot be beaten at
a later rung: the cell is decided there. The cost is sum_i n_i * b_i, about 2.2 runs of the
full budget for five rates, eta = 3 and three rungs.

Synchronous halving (every rate of a rung finishes before any is promoted) is used instead of
Optuna's asynchronous pruners because its decisions do not depend on which worker finishes
first: the same study gives the same chosen rates on any number of workers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gradtrace.errors import InvalidValue
from gradtrace.study.expand import RunConfig, config_key
from gradtrace.study.tune_spec import DEFAULT_GRIDS, TUNING, TuneSpec

CellKey = tuple[str, str, int]  # (variant, task, T)
CHOSEN_FILE = "tuned_lrs.json"  # written beside results.sqlite; committed under data/tuned/


def lr_key(variant: str, task: str, seq_len: int) -> str:
    """The key of one cell in a table of chosen learning rates: "variant|task|T"."""
    return f"{variant}|{task}|{seq_len}"


def grid_for(tune: TuneSpec, optimizer: str) -> tuple[float, ...]:
    """The learning rates searched for ``optimizer``."""
    return tune.grid or DEFAULT_GRIDS[optimizer]


def rung_budgets(max_steps: int, eta: int, rungs: int) -> list[int]:
    """Step budget of each rung: max_steps / eta^(rungs-1-i), at least one step, the last full."""
    return [max(1, max_steps // eta ** (rungs - 1 - i)) for i in range(rungs)]


def score(row: dict[str, Any] | None) -> tuple[int, float]:
    """Sort key of one tuning run on held-out data (smaller is better).

    (0, steps to solve) when solved; (1, -progress) when not, progress being the best held-out
    metric as a fraction from chance level (0) to perfect (1); (2, 0) without a metric.
    """
    if row is None:
        return 2, 0.0
    record = row.get("record") or {}
    if row.get("status") == "solved" and record.get("steps_to_solve") is not None:
        return 0, float(record["steps_to_solve"])
    best, baseline = record.get("best_metric"), record.get("baseline")
    if row.get("status") in ("unsolved", "out_of_time") and best is not None and baseline:
        perfect = 1.0 if record.get("higher_is_better") else 0.0
        span = perfect - baseline
        return 1, -(best - baseline) / span if span else 0.0
    return 2, 0.0


def rank(rows: dict[float, dict[str, Any] | None]) -> list[float]:
    """Learning rates best first by `score`; ties go to the smaller rate (deterministic)."""
    return sorted(rows, key=lambda lr: (score(rows[lr]), lr))


def tuning_run(run: RunConfig, *, lr: float, steps: int, seed: int) -> RunConfig:
    """The tuning run of ``run``'s cell at ``lr`` for ``steps`` steps on the tuning seed."""
    train = {**run.config["train"], "lr": lr, "max_steps": steps, "seed": seed, "profiles": False}
    config = {**run.config, "train": train}
    return RunConfig(config_key(config), run.variant, TUNING, config)


def search(
    runs: list[RunConfig],
    tune: TuneSpec,
    execute: Callable[[list[RunConfig]], dict[str, dict[str, Any]]],
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Successive halving over every cell of ``runs``; returns (chosen lrs by `lr_key`, log).

    ``execute`` runs a list of tuning runs (resuming what is stored) and returns their rows by
    key. The log has one entry per cell and rung: the budget, each rate's score, who went on.
    """
    cells: dict[CellKey, RunConfig] = {}
    for run in runs:
        cells.setdefault((run.variant, run.task, run.seq_len), run)
    alive = {c: list(grid_for(tune, r.config["train"]["optimizer"])) for c, r in cells.items()}
    chosen: dict[str, float] = {}
    log: list[dict[str, Any]] = []
    for rung, budget in enumerate(_budgets(cells, tune)):
        if not alive:
            break
        planned = {
            (cell, lr): tuning_run(cells[cell], lr=lr, steps=budget[cell], seed=tune.seed)
            for cell, lrs in alive.items()
            for lr in lrs
        }
        rows = execute(list(planned.values()))
        for cell in list(alive):
            found = {lr: rows.get(planned[(cell, lr)].key) for lr in alive[cell]}
            ranked = rank(found)
            last = rung == tune.rungs - 1 or rung + 1 == tune.stop_after
            decided = last or score(found[ranked[0]])[0] == 0
            keep = ranked[:1] if decided else ranked[: math.ceil(len(ranked) / tune.eta)]
            log.append(
                {
                    "cell": lr_key(*cell),
                    "rung": rung,
                    "steps": budget[cell],
                    "scores": {f"{lr:g}": list(score(found[lr])) for lr in ranked},
                    "kept": keep,
                    "provisional": decided
                    and rung < tune.rungs - 1
                    and score(found[ranked[0]])[0] != 0,
                }
            )
            if decided:
                chosen[lr_key(*cell)] = ranked[0]
                del alive[cell]
            else:
                alive[cell] = keep
    return chosen, log


def _budgets(cells: dict[CellKey, RunConfig], tune: TuneSpec) -> list[dict[CellKey, int]]:
    per_cell = {
        c: rung_budgets(r.config["train"]["max_steps"], tune.eta, tune.rungs)
        for c, r in cells.items()
    }
    return [{c: b[i] for c, b in per_cell.items()} for i in range(tune.rungs)]


def load_chosen(name: str) -> dict[str, float]:
    """The committed learning rates ``name`` (gradtrace/data/tuned/<name>.json)."""
    import json
    from importlib import resources

    folder = resources.files("gradtrace.data") / "tuned"
    names = sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )
    if name not in names:
        raise InvalidValue("tune.chosen", name, "choose one of " + (", ".join(names) or "(none)"))
    data = json.loads((folder / f"{name}.json").read_text())
    return {k: float(v) for k, v in data["lrs"].items()}


def apply_lrs(runs: list[RunConfig], lrs: dict[str, float], *, source: str) -> list[RunConfig]:
    """``runs`` with each cell's chosen learning rate (keys recomputed); each cell needs one."""
    out = []
    for run in runs:
        key = lr_key(run.variant, run.task, run.seq_len)
        if key not in lrs:
            raise InvalidValue(
                "tune", source, f"it has no learning rate for {key}; search again (--search-lr)"
            )
        config = {**run.config, "train": {**run.config["train"], "lr": lrs[key]}}
        out.append(RunConfig(config_key(config), run.variant, run.technique, config))
    return out


def reported_runs(spec: Any, lrs: dict[str, float] | None = None) -> list[RunConfig]:
    """The study's reported runs: `expand` with each cell's tuned learning rate when it tunes.

    ``lrs`` are the rates a search chose (stored in the study's meta "tuned_lrs"); a spec
    with ``tune.chosen`` reads its committed rates; a search not run yet leaves the spec's lr.
    """
    from gradtrace.study.expand import expand

    runs = expand(spec)
    if spec.tune is None:
        return runs
    if spec.tune.chosen is not None:
        lrs = load_chosen(spec.tune.chosen)
    return runs if lrs is None else apply_lrs(runs, lrs, source=spec.tune.chosen or spec.name)


def search_size(runs: list[RunConfig], tune: TuneSpec) -> int:
    """The most tuning runs `search` can start (fewer when cells are decided early)."""
    cells = {(r.variant, r.task, r.seq_len): r for r in runs}
    total = 0
    for run in cells.values():
        n = len(grid_for(tune, run.config["train"]["optimizer"]))
        for _ in range(tune.rungs):
            total += n
            n = math.ceil(n / tune.eta)
    return total


def write_chosen(
    path: Any, spec: Any, lrs: dict[str, float], log: list[dict[str, Any]] | None = None
) -> None:
    """Write chosen rates in the committed format (copy to gradtrace/data/tuned/<name>.json).

    Cells a search stopped early (``tune.stop_after``) left undecided are listed as
    provisional and the file says it is not complete.
    """
    import json
    import time
    from pathlib import Path

    stop = spec.tune.stop_after if spec.tune else None
    provisional = {e["cell"] for e in log or [] if e.get("provisional")}
    data = {
        "study": spec.name,
        "created": time.strftime("%Y-%m-%d"),
        "protocol": spec.tune.model_dump(mode="json") if spec.tune else None,
        "command": f"gradtrace study --preset {spec.name} --search-lr --out runs/tune-{spec.name}"
        + (f" --search-stop-after {spec.tune.stop_after}" if stop else ""),
        "complete": not provisional,
        "provisional": sorted(provisional),
        "lrs": lrs,
    }
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
