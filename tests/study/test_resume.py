"""A study killed mid-way (SIGKILL or Ctrl-C) resumes: nothing lost, nothing run twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from study_fake_runs import LOG_ENV, SLEEP_ENV

from gradtrace.formats import FormatError
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.runner import run_study
from gradtrace.study.store import FINISHED, open_store

HERE = Path(__file__).parent / "support"
SPEC = {
    "name": "resume",
    "tasks": ["adding"],
    "seq_lens": [10, 20, 30, 40, 50, 60],
    "variant": [{"name": "tanh RNN"}, {"name": "GRU", "cell": "gru"}],
}
DRIVER = f"""
import signal
import sys
# a process started in the background by a non-interactive shell inherits SIGINT ignored, and
# Python then keeps it ignored: restore the handler a terminal's Ctrl-C reaches
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, {str(HERE)!r})
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.runner import run_study

if __name__ == "__main__":
    try:
        spec = spec_from_dict({SPEC!r})
        run_study(spec, sys.argv[1], workers=2, run_fn="study_fake_runs:slow_run")
    except KeyboardInterrupt:
        sys.exit(130)
"""


def start_study(tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    script, out, log = tmp_path / "driver.py", tmp_path / "out", tmp_path / "calls.log"
    script.write_text(DRIVER)
    env = {**os.environ, LOG_ENV: str(log), SLEEP_ENV: "0.5"}
    process = subprocess.Popen([sys.executable, str(script), str(out)], env=env)
    return process, out, log


def wait_for_finished(out: Path, count: int, process: subprocess.Popen) -> list[dict]:
    deadline = time.time() + 30
    while time.time() < deadline:
        assert process.poll() is None, "the study ended before it could be interrupted"
        if (out / "results.sqlite").exists():
            try:
                with open_store(out, readonly=True) as store:
                    rows = store.rows()
            except (sqlite3.OperationalError, FormatError):  # created, schema not written yet
                rows = []
            if sum(r["status"] in FINISHED for r in rows) >= count:
                return rows
        time.sleep(0.05)
    raise AssertionError("the study did not finish runs in time")


def pid_gone(pid: int, timeout: float) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def finish_and_check(out: Path, log: Path, finished_before: set[str], in_flight: set[str]) -> None:
    os.environ[LOG_ENV] = str(log)
    try:
        summary = run_study(spec_from_dict(SPEC), out, workers=2, run_fn="study_fake_runs:slow_run")
    finally:
        del os.environ[LOG_ENV]
    assert summary.skipped == len(finished_before)
    with open_store(out, readonly=True) as store:
        rows = store.rows()
    keys = [r["key"] for r in rows]
    assert len(rows) == 12 and len(set(keys)) == 12
    assert all(r["status"] in FINISHED for r in rows)
    lines = log.read_text().splitlines()
    ends = Counter(line.split()[1] for line in lines if line.startswith("end "))
    starts = Counter(line.split()[1] for line in lines if line.startswith("start "))
    assert set(ends) == set(keys)
    # a run in flight when the study stopped may have ended in its orphaned worker too (its
    # result was lost with the parent); every other run ran exactly once
    assert {k for k, n in ends.items() if n > 1} <= in_flight
    assert {k for k, n in starts.items() if n > 1} <= in_flight
    assert all(starts[k] == 1 for k in finished_before)


@pytest.mark.slow
def test_a_study_killed_with_sigkill_resumes_without_losing_or_repeating_runs(tmp_path):
    process, out, log = start_study(tmp_path)
    try:
        rows = wait_for_finished(out, 3, process)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
    with open_store(out, readonly=True) as store:
        rows = store.rows()
    finished = {r["key"] for r in rows if r["status"] in FINISHED}
    running = [r for r in rows if r["status"] == "running"]
    assert len(finished) >= 3 and running, "the kill should land mid-study"
    for row in running:  # orphaned workers stop instead of finishing their runs
        assert pid_gone(int(row["worker"].rsplit(":", 1)[1]), timeout=5)
    finish_and_check(out, log, finished, {r["key"] for r in running})


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stop_the_workers_and_leave_no_run_marked_running(tmp_path, stop):
    process, out, log = start_study(tmp_path)
    try:
        wait_for_finished(out, 2, process)
        process.send_signal(stop)
        assert process.wait(15) == 130
    finally:
        if process.poll() is None:
            process.kill()
    with open_store(out, readonly=True) as store:
        rows = store.rows()
    assert not [r for r in rows if r["status"] == "running"]
    finished = {r["key"] for r in rows if r["status"] in FINISHED}
    assert 2 <= len(finished) < 12
    started = {line.split()[1] for line in log.read_text().splitlines() if line.startswith("start")}
    finish_and_check(out, log, finished, started - finished)
