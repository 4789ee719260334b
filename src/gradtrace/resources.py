"""Memory and time a request will need, estimated from all its sizes together before it runs.

Each size may be within its bound while their product is not (hidden 4096 x length 100,000 x
batch 8192 is petabytes); the estimates here multiply them out and `check_memory` refuses
work beyond a limit (by default the memory this machine has available) in one line.
Constants were measured on CPU with ``/usr/bin/time -f %M`` (peak resident memory) and err
on the large side.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gradtrace.errors import InvalidValue

if TYPE_CHECKING:
    from gradtrace.diagnosis.probing import ProbeSpec
    from gradtrace.models import ModelSpec
    from gradtrace.study.spec import StudySpec
    from gradtrace.training import TrainSpec

BASE_BYTES = 400 * 2**20  # python, torch and gradtrace imported
# bytes kept per (example, step, unit, layer) per byte of dtype: forward states, their
# gradients and the traced norms (measured: rnn 3.7, lstm 8.8 copies in float64)
COPIES = {"rnn": 5.0, "gru": 8.0, "lstm": 10.0}
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
FLOP_SECONDS = 2e-9  # seconds per multiply-add of a recurrent step on one slow core
DTYPE_BYTES = {"float32": 4, "float64": 8, "auto": 8}
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


@dataclass(frozen=True)
class Estimate:
    """What a request needs: peak memory in bytes and seconds of compute, and what it is."""

    what: str
    memory_bytes: int
    seconds: float

    def describe(self) -> str:
        """'3.2 GB of memory and about 40 s'."""
        return f"{format_bytes(self.memory_bytes)} of memory and about {self.seconds:.3g} s"


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KB' (binary units)."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PB"


def parse_bytes(text: str, *, name: str = "--max-memory") -> int:
    """'8GB', '512m', '1.5 GiB', '2000000' -> bytes; InvalidValue names the option."""
    found = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not found:
        raise InvalidValue(name, text, "a size like 8GB, 512MB or a number of bytes")
    value = float(found[1]) * _UNITS[found[2]]
    if not 2**20 <= value <= 2**50:
        raise InvalidValue(name, text, "between 1 MB and 1 PB")
    return int(value)


def available_memory() -> int:
    """Bytes of memory this machine has available now (MemAvailable; total when unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def recurrent_estimate(
    what: str,
    *,
    cell: str,
    hidden_size: int,
    num_layers: int,
    input_size: int,
    seq_len: int,
    batch_size: int,
    dtype_bytes: int = 8,
    passes: float = 3.0,
) -> Estimate:
    """A forward and backward pass (``passes`` of them) of a stacked recurrent net on a batch."""
    elements = batch_size * seq_len * hidden_size * num_layers
    inputs = batch_size * seq_len * input_size * dtype_bytes * 2
    params = num_layers * GATES.get(cell, 4) * hidden_size * (hidden_size + input_size + 2)
    memory = BASE_BYTES + elements * dtype_bytes * COPIES.get(cell, 10.0) + inputs
    memory += params * dtype_bytes * 4  # weights, gradients, optimizer state
    flops = batch_size * seq_len * num_layers * GATES.get(cell, 4) * hidden_size
    flops *= hidden_size + input_size
    return Estimate(what, int(memory), flops * passes * FLOP_SECONDS)


def probe_estimate(spec: ProbeSpec) -> Estimate:
    """A probe (gradtrace.diagnosis.ProbeSpec): trace, spectra and health on one batch."""
    model = spec.model
    estimate = recurrent_estimate(
        f"probe {spec.name}",
        cell=model.cell,
        hidden_size=model.hidden_size,
        num_layers=model.num_layers,
        input_size=model.input_size,
        seq_len=spec.seq_len,
        batch_size=spec.batch_size,
        dtype_bytes=DTYPE_BYTES[spec.dtype],
    )
    spectra = model.num_layers * GATES.get(model.cell, 4) * model.hidden_size**3 * 10
    return Estimate(estimate.what, estimate.memory_bytes, estimate.seconds + spectra * FLOP_SECONDS)


def train_estimate(model: ModelSpec, seq_len: int, train: TrainSpec) -> Estimate:
    """A training run (ModelSpec, task length, TrainSpec): peak memory of one step, all steps."""
    step = recurrent_estimate(
        "train",
        cell=model.cell,
        hidden_size=model.hidden_size,
        num_layers=model.num_layers,
        input_size=model.input_size,
        seq_len=seq_len,
        batch_size=max(train.batch_size, train.eval_batch_size),
        dtype_bytes=4,
    )
    steps = train.max_steps
    return Estimate("train", step.memory_bytes, step.seconds * steps)


def check_memory(
    estimate: Estimate, limit: int | None = None, *, name: str = "--max-memory"
) -> None:
    """Refuse ``estimate`` when it needs more memory than ``limit`` (default: available now)."""
    top = available_memory() if limit is None else limit
    if estimate.memory_bytes > top:
        source = (
            f"{format_bytes(top)} ({name})"
            if limit is not None
            else (f"the {format_bytes(top)} this machine has available (raise it with {name})")
        )
        raise InvalidValue(
            estimate.what,
            f"{format_bytes(estimate.memory_bytes)} of memory (estimated)",
            f"at most {source}; use smaller sizes",
        )


def study_estimate(configs: list[dict], workers: int) -> Estimate:
    """A study's run configs on ``workers`` parallel processes: the largest runs side by side."""
    per_run = []
    seconds = 0.0
    for config in configs:
        model, task, train = config["model"], config["task"], config["train"]
        run = recurrent_estimate(
            "study",
            cell=model.get("cell", "lstm"),
            hidden_size=int(model.get("hidden_size", 64)),
            num_layers=int(model.get("num_layers", 1)),
            input_size=int(model.get("input_size", 1)),
            seq_len=int(task.get("seq_len") or 100),
            batch_size=int(max(train.get("batch_size", 64), train.get("eval_batch_size", 512))),
            dtype_bytes=4,
        )
        per_run.append(run.memory_bytes - BASE_BYTES)
        seconds += run.seconds * int(train.get("max_steps", 1000))
    largest = sorted(per_run, reverse=True)[: max(1, workers)]
    memory = BASE_BYTES + sum(largest) + (BASE_BYTES // 2) * (len(largest) - 1)
    return Estimate(f"study of {len(configs)} runs on {len(largest)} workers", memory, seconds)


def planned_runs(spec: StudySpec) -> int:
    """How many runs a StudySpec expands to, counted from its axes without expanding it.

    Grid combinations that give a gated cell a non-tanh activation are skipped, as the
    expansion skips them; variants that run on a subset of tasks count only there.
    """
    from gradtrace.study.expand import GRID_AXES

    variants: list[tuple[str, ...] | None] = [v.tasks for v in spec.variants]
    grid = spec.grid
    combinations = 0
    if grid is not None:
        axes = {n: getattr(grid, n) for n in GRID_AXES if getattr(grid, n) is not None}
        others = 1
        for name, values in axes.items():
            if name not in ("cell", "activation"):
                others *= len(values)
        cells = axes.get("cell") or (spec.model.cell,)
        acts = axes.get("activation") or (spec.model.activation,)
        pairs = sum(len(acts) if c == "rnn" else int("tanh" in acts) for c in cells)
        combinations = others * pairs
    total = 0
    for task in spec.tasks:
        on_task = sum(1 for t in variants if t is None or task.name in t) + combinations
        if not variants and grid is None:
            on_task = 1  # the study's [model] alone
        total += on_task * len(task.seq_lens or spec.seq_lens) * len(spec.seeds)
    return total


def diagnose_estimate(model: Any, batch: Any, *, passes: float = 3.0) -> Estimate:
    """A diagnose(model, batch) call: the batch's (B, T) through every recurrent module found.

    Modules are recognised by their ``hidden_size`` attribute (torch's nn.RNN/LSTM/GRU and
    gradtrace's layers); the cell kind comes from ``mode`` (torch) or the class name.
    """
    shape = tuple(getattr(batch, "shape", ()) or ())
    batch_size, seq_len = (int(shape[0]), int(shape[1])) if len(shape) >= 2 else (1, 1)
    dtype_bytes = int(getattr(batch, "element_size", lambda: 8)())
    memory, seconds = BASE_BYTES, 0.0
    for module in model.modules():
        hidden = getattr(module, "hidden_size", None)
        if not isinstance(hidden, int) or isinstance(hidden, bool):
            continue
        kind = str(getattr(module, "mode", type(module).__name__)).lower()
        cell = next((c for c in ("lstm", "gru") if c in kind), "rnn")
        part = recurrent_estimate(
            "diagnose",
            cell=cell,
            hidden_size=hidden,
            num_layers=int(getattr(module, "num_layers", 1) or 1),
            input_size=int(getattr(module, "input_size", hidden) or hidden),
            seq_len=seq_len,
            batch_size=batch_size,
            dtype_bytes=dtype_bytes,
            passes=passes,
        )
        memory += part.memory_bytes - BASE_BYTES
        seconds += part.seconds
    return Estimate("diagnose", int(memory), seconds)
