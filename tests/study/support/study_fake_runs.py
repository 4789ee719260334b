"""Fast stand-ins for training used by the study tests (importable by spawned workers)."""

from __future__ import annotations

import os
import time
from typing import Any

from gradtrace.study.expand import config_key

LOG_ENV = "GRADTRACE_FAKE_RUN_LOG"
SLEEP_ENV = "GRADTRACE_FAKE_RUN_SLEEP"


def _write(line: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a") as handle:
            handle.write(line + "\n")


def _log(config: dict[str, Any]) -> None:
    model, task, train = config["model"], config["task"], config["train"]
    _write(f"{model['cell']} {task['seq_len']} {train['seed']}")


def fake_record(config: dict[str, Any]) -> dict[str, Any]:
    """A RunRecord-like dict: LSTM solves everything, RNNs only T <= 20."""
    cell, seq_len = config["model"]["cell"], config["task"]["seq_len"]
    solved = cell != "rnn" or seq_len <= 20
    return {
        "status": "solved" if solved else "unsolved",
        "steps": 100 if solved else 500,
        "steps_to_solve": 100 if solved else None,
        "metric": 0.001 if solved else 0.166,
        "baseline": 1 / 6,
        "higher_is_better": False,
        "metric_name": "mse",
        "time_per_step_s": 0.001 * seq_len * (4 if cell == "lstm" else 1),
        "n_params": 100,
    }


def quick_run(config: dict[str, Any]) -> dict[str, Any]:
    """Log the call and return at once."""
    _log(config)
    return fake_record(config)


def slow_run(config: dict[str, Any]) -> dict[str, Any]:
    """Log "start <key>", sleep (GRADTRACE_FAKE_RUN_SLEEP seconds), log "end <key>", return."""
    key = config_key(config)
    _write(f"start {key}")
    time.sleep(float(os.environ.get(SLEEP_ENV, "0.3")))
    _write(f"end {key}")
    return fake_record(config)


def crashing_run(config: dict[str, Any]) -> dict[str, Any]:
    """Raise for T = 20, kill the worker process for T = 30, else behave."""
    seq_len = config["task"]["seq_len"]
    if seq_len == 20:
        raise RuntimeError("boom at T=20")
    if seq_len == 30:
        os._exit(3)
    return quick_run(config)


def uneven_run(config: dict[str, Any]) -> dict[str, Any]:
    """Like slow_run, but seed 0 returns at once and other seeds sleep SLEEP_ENV seconds."""
    key = config_key(config)
    _write(f"start {key}")
    if config["train"]["seed"] != 0:
        time.sleep(float(os.environ.get(SLEEP_ENV, "2.0")))
    _write(f"end {key}")
    return fake_record(config)


def lr_sensitive_run(config: dict[str, Any]) -> dict[str, Any]:
    """Solved in 300 + 2000 * |log10(lr / best)| steps (best lr 3e-3 at T <= 20, 1e-3 beyond).

    Too slow for its budget, it ends unsolved with a held-out best metric that gets closer to
    0 the nearer lr is to the best one (chance level 1/6).
    """
    import math

    train, seq_len = config["train"], config["task"]["seq_len"]
    best = 3e-3 if seq_len <= 20 else 1e-3
    distance = abs(math.log10(train["lr"] / best))
    needed = round(300 + 2000 * distance) + (10_000 if seq_len > 40 else 0)
    solved = needed <= train["max_steps"]
    _write(f"lr {train['lr']:g} {train['max_steps']} {seq_len}")
    return {
        "status": "solved" if solved else "unsolved",
        "steps": needed if solved else train["max_steps"],
        "steps_to_solve": needed if solved else None,
        "metric": 0.001 if solved else 0.1,
        "best_metric": 0.001 if solved else 0.1 * distance / (1 + distance),
        "baseline": 1 / 6,
        "higher_is_better": False,
        "metric_name": "mse",
        "time_per_step_s": 0.001,
        "n_params": 100,
    }
