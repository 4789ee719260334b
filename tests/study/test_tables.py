"""Tables from a synthetic store: every cell derived exactly from the stored outcomes."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gradtrace.study.expand import expand
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.store import open_store
from gradtrace.study.table_io import write_tables
from gradtrace.study.tables import study_tables

SPEC = spec_from_dict(
    {
        "name": "synthetic",
        "tasks": ["adding"],
        "seq_lens": [10, 50, 100, 200],
        "seeds": [0, 1],
        "variant": [
            {"name": "tanh RNN", "technique": "baseline"},
            {"name": "ReLU RNN", "technique": "ReLU activation", "activation": "relu"},
            {"name": "LSTM", "technique": "LSTM", "cell": "lstm"},
            {"name": "GRU", "technique": "GRU", "cell": "gru"},
        ],
    }
)
COST = {"tanh RNN": (1, 1), "ReLU RNN": (1, 1), "LSTM": (4, 8), "GRU": (3, 4)}  # time, memory
PARAMS = {"tanh RNN": 4481, "ReLU RNN": 4481, "LSTM": 17217, "GRU": 12993}
# (variant, T) -> outcome of seed 0 and seed 1: ("solved", steps) | ("unsolved", mse) | status
OUTCOMES = {
    ("tanh RNN", 10): [("solved", 200), ("solved", 300)],
    ("tanh RNN", 50): [("unsolved", 0.166), ("unsolved", 0.168)],
    ("tanh RNN", 100): [("unsolved", 0.167), ("unsolved", 0.167)],
    ("ReLU RNN", 10): [("solved", 100), ("solved", 100)],
    ("ReLU RNN", 50): ["diverged", "diverged"],
    ("ReLU RNN", 100): ["diverged", "failed"],
    ("LSTM", 10): [("solved", 400), ("solved", 600)],
    ("LSTM", 50): [("solved", 800), ("solved", 1000)],
    ("LSTM", 100): [("solved", 1500), ("solved", 1700)],
    ("GRU", 10): [("solved", 300), ("solved", 300)],
    ("GRU", 50): [("solved", 500), ("solved", 700)],
    ("GRU", 100): [("solved", 2000), ("unsolved", 0.05)],
}  # T = 200 never ran: pending


def outcome_for(variant: str, seq_len: int, seed: int) -> dict:
    spec = OUTCOMES[(variant, seq_len)][seed]
    status = spec if isinstance(spec, str) else spec[0]
    time_x, mem_x = COST[variant]
    record = {
        "status": status,
        "metric_name": "mse",
        "baseline": 1 / 6,
        "higher_is_better": False,
        "n_params": PARAMS[variant],
        "time_per_step_s": 0.001 * seq_len * time_x,
        "extra": {"step_memory_mb": 0.1 * seq_len * mem_x},
        "steps_to_solve": spec[1] if status == "solved" else None,
        "metric": 0.005 if status == "solved" else spec[1] if status == "unsolved" else None,
    }
    error = "RuntimeError: out of luck" if status == "failed" else None
    return {"status": status, "record": record, "error": error}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    runs = expand(SPEC)
    with open_store(out) as store:
        store.plan(runs)
        store.set_meta("spec", SPEC.model_dump(mode="json", by_alias=True))
        for run in runs:
            if run.seq_len != 200:
                store.finish(run.key, outcome_for(run.variant, run.seq_len, run.seed))
    return out, {t.name: t for t in study_tables(out)}


def test_the_technique_table_derives_reach_cost_and_limitation(tables):
    _, by_name = tables
    table = by_name["technique"]
    assert table.columns == [
        "technique",
        "variant",
        "longest T solved",
        "learning rate",
        "time/step vs tanh RNN",
        "memory vs tanh RNN",
        "limitation observed",
    ]
    assert table.rows == [
        ["baseline", "tanh RNN", "10", "1e-3", "1.00x", "1.00x", "stays at baseline from T=50"],
        ["ReLU activation", "ReLU RNN", "10", "1e-3", "1.00x", "1.00x", "diverged at T=50, 100"],
        [
            "LSTM",
            "LSTM",
            "100 (all)",
            "1e-3",
            "4.00x",
            "8.00x",
            "solved all T tested (up to 100); 4.0x time per step; 8.0x memory",
        ],
        [
            "GRU",
            "GRU",
            "50",
            "1e-3",
            "3.00x",
            "4.00x",
            "unsolved from T=100 (mse 0.05 at T=100); 3.0x time per step; 4.0x memory",
        ],
    ]


def test_the_rnn_lstm_gru_table_counts_and_measures(tables):
    _, by_name = tables
    table = by_name["rnn_lstm_gru"]
    assert table.columns == ["", "Standard RNN", "LSTM", "GRU"]
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["variant"] == ["tanh RNN", "LSTM", "GRU"]
    assert rows["gates"] == ["none", "3 (input, forget, output)", "2 (reset, update)"]
    assert rows["parameters (adding)"] == ["4,481", "17,217", "12,993"]
    assert rows["time per step at T=100 (ms)"] == ["100.0", "400.0", "300.0"]
    assert rows["time per step vs Standard RNN"] == ["1.00x", "4.00x", "3.00x"]
    assert rows["memory vs Standard RNN"] == ["1.00x", "8.00x", "4.00x"]
    assert rows["longest T solved (adding)"] == ["10", "100 (all)", "50"]


ALL, NONE = "2/2 [0.34-1.00]", "0/2 [0.00-0.66]"  # seeds solved, 95% Wilson interval


def test_the_success_matrix_marks_every_cell(tables):
    _, by_name = tables
    table = by_name["success_matrix"]
    assert table.columns == ["task", "variant", "T=10", "T=50", "T=100", "T=200"]
    assert table.rows == [
        ["adding", "tanh RNN", f"✓ 250 (200-300) {ALL}", f"· 0.167 {NONE}", f"· 0.167 {NONE}", "…"],
        ["adding", "ReLU RNN", f"✓ 100 {ALL}", f"✗ diverged {NONE}", f"✗ diverged {NONE}", "…"],
        [
            "adding",
            "LSTM",
            f"✓ 500 (400-600) {ALL}",
            f"✓ 900 (800-1000) {ALL}",
            f"✓ 1600 (1500-1700) {ALL}",
            "…",
        ],
        ["adding", "GRU", f"✓ 300 {ALL}", f"✓ 600 (500-700) {ALL}", "· 0.05 1/2 [0.09-0.91]", "…"],
    ]
    gru_100 = next(r for r in table.records if r["variant"] == "GRU" and r["seq_len"] == 100)
    assert (gru_100["solved"], gru_100["unsolved"], gru_100["outcome"]) == (1, 1, "unsolved")
    assert gru_100["median_steps_to_solve"] == 2000


def test_tables_are_written_as_csv_and_json(tables):
    out, by_name = tables
    paths = write_tables(list(by_name.values()), out)
    assert sorted(p.name for p in paths) == sorted(
        f"{n}.{ext}"
        for n in ("technique", "rnn_lstm_gru", "success_matrix", "published")
        for ext in ("csv", "json")
    )
    with (out / "tables" / "success_matrix.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == by_name["success_matrix"].columns
    assert rows[1:] == by_name["success_matrix"].rows
    data = json.loads((out / "tables" / "technique.json").read_text())
    assert data["rows"] == by_name["technique"].rows
    assert data["records"][2]["longest_solved"] == {"adding": 100}


@pytest.mark.parametrize("width", [80, 120])
def test_every_study_table_reads_at_80_and_120_columns(tables, width):
    from rich.console import Console

    from gradtrace.study.table_io import render_tables

    _, by_name = tables
    console = Console(width=width, record=True, file=io.StringIO())
    render_tables(list(by_name.values()), console)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    for table in by_name.values():  # every cell is shown whole (not cut short), on one line
        for row in table.rows:
            for cell in row:
                if cell and len(cell) < 30:
                    assert cell in text, cell
    rows = sum(len(t.rows) for t in by_name.values())
    assert len(lines) < 12 * len(by_name) + 4 * rows  # no column squeezed into a tall ribbon
