"""Small synthetic results in gradtrace's own formats (study store, probe JSON, monitor log).

They let `gradtrace report` and `gradtrace serve` be tried, tested and benchmarked in a second:
gradient profiles are exact geometric decays g_{T-k} = gamma^k, losses fall towards the chance
baseline or below it, so every chart has a known shape.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

# (variant, technique, cell, decay factor per step at start, at end, solves)
VARIANTS = (
    ("rnn-tanh", "baseline", "rnn", 0.80, 0.85, False),
    ("rnn-orthogonal", "orthogonal init", "rnn", 0.95, 0.97, False),
    ("lstm", "gating", "lstm", 0.97, 0.995, True),
    ("gru", "gating", "gru", 0.96, 0.99, True),
)
BASELINE = 1 / 6  # adding problem: predicting the mean sum gives MSE 1/6


def profile_dict(gammas: list[float], seq_len: int, *, kind: str = "rnn") -> dict[str, Any]:
    """A GradientProfile.to_dict() with one layer per gamma and g_{T-k} = gamma^k exactly."""
    layers = []
    for i, gamma in enumerate(gammas):
        g = gamma ** np.arange(seq_len)[::-1]  # (T,) time order: g_T = 1
        cell = 0.5 * (0.999 ** np.arange(seq_len)[::-1]) if kind == "lstm" else None
        layers.append(
            {
                "name": f"{kind}.l{i}",
                "kind": kind,
                "layer": i,
                "direction": "forward",
                "g": g.tolist(),
                "g_cell": None if cell is None else cell.tolist(),
            }
        )
    try:
        from gradtrace.tracing import GradientProfile
    except ImportError:
        return {"layers": layers}
    try:
        return GradientProfile.from_dict({"layers": layers}).to_dict()
    except Exception:  # a stricter to_dict form: fall back to the plain fields above
        return {"layers": layers}


def run_record(variant: tuple, *, seq_len: int, seed: int, steps: int = 400) -> dict[str, Any]:
    """A RunRecord dict with a loss curve and start/middle/end profiles."""
    _name, _technique, cell, g0, g1, solves = variant
    rng = np.random.default_rng(seed)
    t = np.arange(0, steps + 1, 10)
    if solves:
        loss = BASELINE * np.exp(-t / (40 + seq_len)) + 0.002
    else:
        loss = BASELINE * (1.0 + 0.3 * np.exp(-t / 30))
    loss = loss * (1 + 0.03 * rng.standard_normal(t.size))
    solved_at = int(t[np.argmax(loss < 0.01)]) if solves and np.any(loss < 0.01) else None
    mid = (g0 + g1) / 2
    profiles = {
        phase: {"step": s, "profile": profile_dict([g], seq_len, kind=cell)}
        for phase, s, g in (("start", 0, g0), ("middle", steps // 2, mid), ("end", steps, g1))
    }
    return {
        "status": "solved" if solved_at is not None else "unsolved",
        "steps": steps,
        "steps_to_solve": solved_at,
        "metric": float(loss[-1]),
        "best_metric": float(loss.min()),
        "metric_name": "mse",
        "higher_is_better": False,
        "baseline": BASELINE,
        "eval_loss": float(loss[-1]),
        "final_loss": float(loss[-1]),
        "loss_curve": [[int(a), float(b)] for a, b in zip(t, loss, strict=True)],
        "eval_curve": [],
        "wall_time_s": 1.0,
        "time_per_step_s": 0.0025,
        "peak_memory_mb": None,
        "memory_method": "none",
        "n_params": 4353 if cell == "lstm" else 1153,
        "grad_norm_pre": {"median": 0.5, "max": 2.0, "last": 0.4},
        "grad_norm_post": {"median": 0.5, "max": 1.0, "last": 0.4},
        "clip_rate": 0.05,
        "profiles": profiles,
        "model_spec": {"cell": cell, "hidden_size": 32},
        "task_spec": {"name": "adding", "seq_len": seq_len},
        "train_spec": {"seed": seed, "max_steps": steps},
        "seed": seed,
        "torch_version": "sample",
        "device": "cpu",
        "threads": 1,
        "error": None,
        "extra": {},
    }


def write_sample_study(
    folder: str | Path, *, seq_lens: tuple[int, ...] = (20, 50), seeds: tuple[int, ...] = (0, 1)
) -> Path:
    """A study folder: results.sqlite (runs, meta, an audit payload) and two table files."""
    from gradtrace.study.expand import RunConfig
    from gradtrace.study.store import open_store

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    from gradtrace.models import ModelSpec
    from gradtrace.training import TrainSpec

    with open_store(folder) as store:
        for variant in VARIANTS:
            for seq_len in seq_lens:
                for seed in seeds:
                    config = {
                        "model": ModelSpec(cell=variant[2], hidden_size=64).model_dump(),
                        "task": {"name": "adding", "seq_len": seq_len},
                        "train": TrainSpec(seed=seed, max_steps=400).model_dump(),
                    }
                    key = f"{variant[0]}-{seq_len}-{seed}"
                    store.plan([RunConfig(key, variant[0], variant[1], config)])
                    record = run_record(variant, seq_len=seq_len, seed=seed)
                    store.finish(
                        key, {"status": record["status"], "record": record, "worker": "sample"}
                    )
                    rows.append((variant, seq_len, record))
        store.set_meta("command", "gradtrace study sample")
        store.set_meta("environment", {"torch": "sample", "device": "cpu"})
        store.put_json(
            "audit",
            "decay-table",
            {"claim": "gamma^k after 10/20/50 steps", "verdict": "supported", "evidence": "exact"},
        )
    matrix = {
        "title": "Success matrix",
        "columns": ["variant", *[f"T={n}" for n in seq_lens]],
        "rows": [[v[0], *[f"{100 * v[5]:.0f}%" for _ in seq_lens]] for v in VARIANTS],
    }
    (folder / "success_matrix.json").write_text(json.dumps(matrix), "utf-8")
    technique = [{"technique": v[1], "variant": v[0], "solved": v[5]} for v in VARIANTS]
    (folder / "technique.json").write_text(json.dumps(technique), "utf-8")
    return folder


def write_sample_probe(path: str | Path, *, gamma: float = 0.9, seq_len: int = 80) -> Path:
    """A probe JSON: a one-layer tanh RNN profile, its spectrum and a recommendation."""
    angles = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    eigs = [[gamma * math.cos(a), gamma * math.sin(a)] for a in angles]
    data = {
        "spec": {
            "model": {"cell": "rnn", "activation": "tanh", "init": "default", "hidden_size": 16},
            "seq_len": seq_len,
        },
        "diagnosis": {
            "profile": profile_dict([gamma], seq_len),
            "spectra": [
                {
                    "name": "rnn.l0",
                    "gate": "h",
                    "spectral_radius": gamma,
                    "max_singular": gamma * 1.2,
                    "eigenvalues": eigs,
                }
            ],
            "health": {
                "layers": [
                    {
                        "name": "rnn.l0",
                        "saturated": 0.02,
                        "dead": None,
                        "gate_means": {},
                        "forget_timescale": None,
                    }
                ],
                "subnormal_grads": 0.0,
                "subnormal_trace": 0.0,
            },
            "verdict": "vanishing",
            "recommendations": [
                {
                    "code": "use-gating",
                    "finding": "Gradients vanish by lag 66.",
                    "value": 66,
                    "advice": "Try an LSTM or GRU.",
                }
            ],
        },
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), "utf-8")
    return path


def write_sample_monitor(path: str | Path, *, steps: int = 200, every: int = 50) -> Path:
    """A monitor JSONL log written by the monitor's own sink: steps, profiles and one alert."""
    from gradtrace.monitor.alerts import Alert
    from gradtrace.monitor.records import ProfileRecord, StepRecord
    from gradtrace.monitor.sinks import JsonlSink

    path = Path(path)
    path.unlink(missing_ok=True)
    sink = JsonlSink(path)
    for step in range(1, steps + 1):
        norm = 1.0 / (1 + step / 50)
        layers = {"rnn.l0": norm * 0.7, "fc": norm * 0.3}
        sink.write_step(
            StepRecord(step, norm, min(norm, 0.9), norm > 0.9, False, [], 0.0, layers, {})
        )
        if step % every == 0 or step == 1:
            gamma = 0.8 + 0.15 * step / steps
            summary = [{"name": "rnn.l0", "decay_factor": gamma}]
            sink.write_profile(ProfileRecord(step, "vanishing", summary, profile_dict([gamma], 40)))
    finding = "r_k falls below 0.001 at lag 30 of 40"
    sink.write_alert(Alert(steps, "vanishing", "rnn.l0", 30.0, 40.0, finding, "use an LSTM"))
    sink.close(None)  # type: ignore[arg-type]  # the JSONL sink only closes its file
    return path


def write_samples(folder: str | Path) -> Path:
    """All three samples in one data folder (study/, probe.json, monitor.jsonl)."""
    folder = Path(folder)
    write_sample_study(folder / "study")
    write_sample_probe(folder / "probe.json")
    write_sample_monitor(folder / "monitor.jsonl")
    return folder
