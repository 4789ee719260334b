"""Expand a StudySpec into run configs, each keyed by a stable hash of its canonical JSON."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from gradtrace.defaults import forget_bias_for
from gradtrace.study.spec import MAX_RUNS, FieldError, Grid, StudySpec, Variant, activation_fits

MODEL_KEYS = (
    "cell",
    "activation",
    "init",
    "init_scale",
    "forget_bias",
    "hidden_size",
    "num_layers",
    "residual",
    "layer_norm",
    "readout",
)
TRAIN_OVERRIDES = ("clip", "clip_value", "tbptt", "lr", "optimizer", "vanishing_reg")
GRID_AXES = (
    "cell",
    "activation",
    "init",
    "clip",
    "clip_value",
    "residual",
    "layer_norm",
    "readout",
    "tbptt",
    "hidden_size",
)


@dataclass(frozen=True)
class RunConfig:
    """One training run: its key, its labels and the config the key is the hash of."""

    key: str
    variant: str
    technique: str
    config: dict[str, Any] = field(hash=False, compare=False)

    @property
    def task(self) -> str:
        """Task name."""
        return self.config["task"]["name"]

    @property
    def seq_len(self) -> int:
        """Sequence length T."""
        return self.config["task"]["seq_len"]

    @property
    def seed(self) -> int:
        """Training seed."""
        return self.config["train"]["seed"]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form."""
        return {
            "key": self.key,
            "variant": self.variant,
            "technique": self.technique,
            "config": self.config,
        }


def canonical_json(config: dict[str, Any]) -> str:
    """The canonical JSON text of a config: sorted keys, no spaces, floats as repr."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_key(config: dict[str, Any]) -> str:
    """Stable 16-hex-digit key of a config (sha256 of its canonical JSON)."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def variants_of(spec: StudySpec) -> list[Variant]:
    """The listed variants followed by the grid's combinations (grid duplicates dropped)."""
    variants = list(spec.variants)
    if spec.grid is not None:
        seen = {_signature(spec, v) for v in variants}
        names = {v.name for v in variants}
        for generated in grid_variants(spec.grid, spec):
            if _signature(spec, generated) not in seen and generated.name not in names:
                seen.add(_signature(spec, generated))
                names.add(generated.name)
                variants.append(generated)
    return variants


def _signature(spec: StudySpec, variant: Variant) -> str:
    return repr(_resolved_model(spec, variant)) + repr(_train_overrides(spec, variant))


def grid_variants(grid: Grid, spec: StudySpec) -> list[Variant]:
    """Every valid combination of the grid's axes as a Variant named after its values."""
    axes = [(name, getattr(grid, name)) for name in GRID_AXES if getattr(grid, name) is not None]
    combinations = math.prod(len(values) for _, values in axes)
    if combinations > MAX_RUNS:
        raise FieldError("grid", combinations, f"at most {MAX_RUNS} combinations")
    varying = {name for name, values in axes if len(values) > 1}
    out: list[Variant] = []
    for values in itertools.product(*(vals for _, vals in axes)):
        choice = dict(zip((name for name, _ in axes), values, strict=True))
        cell = choice.get("cell", spec.model.cell)
        if not activation_fits(cell, choice.get("activation", spec.model.activation)):
            continue  # gated cells have no activation choice (expRNN: modrelu or tanh)
        parts = [cell] + [f"{k}={_show(v)}" for k, v in choice.items() if k in varying - {"cell"}]
        out.append(Variant(name=" ".join(parts)[:80], technique="grid", **choice))
    if not out:
        raise FieldError("grid", "(no combination)", "no valid combination: gated cells need tanh")
    return out


def _show(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def _resolved_model(spec: StudySpec, variant: Variant) -> dict[str, Any]:
    defaults = spec.model.model_dump()
    model = {
        k: (getattr(variant, k) if getattr(variant, k) is not None else defaults[k])
        for k in MODEL_KEYS
    }
    model["forget_bias"] = forget_bias_for(model["cell"], model["forget_bias"], model["init"])
    return model


def _train_overrides(spec: StudySpec, variant: Variant) -> dict[str, Any]:
    base = spec.train.model_dump()
    out = {
        k: (getattr(variant, k) if getattr(variant, k) is not None else base[k])
        for k in TRAIN_OVERRIDES
    }
    if out["tbptt"] == 0:
        out["tbptt"] = None
    return out


def expand(spec: StudySpec) -> list[RunConfig]:
    """All runs of the study in table order (task, variant, seq_len, seed); keys are unique."""
    variants = variants_of(spec)
    _check_reference(spec, variants)
    total = sum(
        len(t.seq_lens or spec.seq_lens)
        * len(spec.seeds)
        * sum(_runs_on(v, t.name) for v in variants)
        for t in spec.tasks
    )
    if total > MAX_RUNS:
        raise FieldError("(study size)", total, f"a study may have at most {MAX_RUNS} runs")
    runs: list[RunConfig] = []
    keys: dict[str, str] = {}
    for task in spec.tasks:
        for variant in variants:
            if not _runs_on(variant, task.name):
                continue
            model = _resolved_model(spec, variant)
            train = {
                **spec.train.model_dump(),
                **_train_overrides(spec, variant),
                **spec.budget.model_dump(),
            }
            if not train["vanishing_reg"]:
                del train["vanishing_reg"]  # off: the run keys of studies without it stay
            for seq_len in task.seq_lens or spec.seq_lens:
                for seed in spec.seeds:
                    config = {
                        "model": model,
                        "task": {
                            "name": task.name,
                            "seq_len": seq_len,
                            **dict(sorted(task.options.items())),
                        },
                        "train": {**train, "seed": seed},
                    }
                    key = config_key(config)
                    if key in keys:
                        raise FieldError(
                            "variant", variant.name, f"it runs the same config as {keys[key]!r}"
                        )
                    keys[key] = variant.name
                    runs.append(RunConfig(key, variant.name, variant.technique, config))
    return runs


def _check_reference(spec: StudySpec, variants: list[Variant]) -> None:
    names = [v.name for v in variants]
    if spec.reference is not None and spec.reference not in names:
        raise FieldError("reference", spec.reference, "choose one of " + ", ".join(names))


def _runs_on(variant: Variant, task: str) -> bool:
    return variant.tasks is None or task in variant.tasks
