"""The example language model runs in dry-run mode: healthy is quiet, bad gets told what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "char_lm.py"


@pytest.fixture(scope="module")
def runs() -> dict[str, subprocess.CompletedProcess]:
    """Both dry runs, started side by side."""
    commands = {"healthy": ["--dry-run"], "bad": ["--dry-run", "--bad"]}
    started = {
        name: subprocess.Popen(
            [sys.executable, str(EXAMPLE), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, flags in commands.items()
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


@pytest.mark.slow
def test_healthy_dry_run_trains_and_prints_no_alert(runs):
    run = runs["healthy"]
    assert run.returncode == 0, run.stderr
    assert "gradient in" not in run.stderr
    assert "0 alert(s)" in run.stdout
    assert "gradtrace monitor: 40 steps" in run.stderr  # the summary table


@pytest.mark.slow
def test_bad_dry_run_alerts_name_the_problem_and_the_fix(runs):
    run = runs["bad"]
    assert run.returncode == 0, run.stderr
    alerts = [line for line in run.stderr.splitlines() if line.startswith("gradtrace: step ")]
    assert any("exploding gradient in global" in a and "Fix: clip" in a for a in alerts), alerts
    assert any(
        "vanishing gradient in lstm.l0" in a and "smaller init scale" in a for a in alerts
    ), alerts
    assert any("saturated units in lstm.l0" in a and "smaller initial scale" in a for a in alerts)
    assert any("step 0: exploding gradient in lstm.l1" in a for a in alerts), alerts
    assert all("Fix: " in a for a in alerts)
