"""The frontier presets: their contents, and the short part run for real, shrunk to a few steps."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from gradtrace.study.expand import expand
from gradtrace.study.presets import FRONTIER_VARIANTS, preset
from gradtrace.study.tune_spec import TuneSpec

CELLS = {"lstm", "gru", "indrnn", "exprnn", "lru", "mingru", "minlstm", "selective_ssm"}


def test_the_frontier_presets_split_the_study_at_what_a_cpu_runs():
    short, long = expand(preset("frontier")), expand(preset("frontier_long"))
    for runs in (short, long):
        assert {r.config["model"]["cell"] for r in runs} == CELLS
        assert {r.task for r in runs} == {"adding", "copy"}
    assert max(r.seq_len for r in short) == 200
    assert {(r.task, r.seq_len) for r in long} >= {("adding", 1000), ("copy", 1020)}
    assert not {(r.task, r.seq_len) for r in short} & {(r.task, r.seq_len) for r in long}
    # expRNN with its paper's modReLU; lr searched under the protocol in both parts
    exprnn = next(r for r in short if r.variant == "expRNN")
    assert exprnn.config["model"]["activation"] == "modrelu"
    assert preset("frontier").tune == preset("frontier_long").tune == TuneSpec()
    assert "GPU or a Ray cluster" in preset("frontier_long").description


def test_the_frontier_dry_runs_validate_and_state_where_they_are_meant_to_run(tmp_path):
    from click.testing import CliRunner

    from gradtrace.cli.main import cli

    for name, runs, where in (
        ("frontier", 120, "two idle CPU cores"),
        ("frontier_long", 120, "GPU"),
    ):
        result = CliRunner().invoke(
            cli, ["study", "--preset", name, "--dry-run", "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        assert f"study {name}: {runs} runs" in result.output and where in result.output
        assert "learning rates: searched per cell" in result.output


def test_modrelu_is_for_exprnn_only_and_tanh_cells_refuse_it():
    from gradtrace.study.loading import spec_from_dict

    base = {"tasks": ["adding"], "seq_lens": [10]}
    spec = spec_from_dict(
        {**base, "variant": [{"name": "e", "cell": "exprnn", "activation": "modrelu"}]}
    )
    assert expand(spec)[0].config["model"]["activation"] == "modrelu"
    for cell in ("rnn", "lstm", "lru"):
        with pytest.raises(ValueError, match="only cell 'exprnn' may use it"):
            spec_from_dict(
                {**base, "variant": [{"name": "x", "cell": cell, "activation": "modrelu"}]}
            )


@pytest.mark.slow
def test_the_short_part_shrunk_to_a_few_steps_trains_every_cell_and_renders(tmp_path):
    from gradtrace.study.runner import run_study
    from gradtrace.study.store import open_store
    from gradtrace.study.table_io import render_tables
    from gradtrace.study.tables import study_tables

    spec = preset("frontier")
    tasks = tuple(
        t.model_copy(update={"seq_lens": (10 if t.name == "adding" else 22,)}) for t in spec.tasks
    )
    spec = spec.model_copy(
        update={
            "tasks": tasks,
            "seeds": (0,),
            "model": spec.model.model_copy(update={"hidden_size": 4}),
            "train": spec.train.model_copy(
                update={"batch_size": 4, "eval_every": 2, "eval_batch_size": 8, "profiles": False}
            ),
            "budget": spec.budget.model_copy(update={"max_steps": 2}),
            "tune": TuneSpec(grid=(1e-3, 1e-2), rungs=1),
        }
    )
    summary = run_study(spec, tmp_path, workers=1)  # two worker starts: tuning, reported runs
    assert summary.total == 2 * len(FRONTIER_VARIANTS)
    with open_store(tmp_path, readonly=True) as store:
        rows = store.rows()
        chosen = store.get_meta("tuned_lrs")
    reported = [r for r in rows if r["technique"] != "lr tuning"]
    assert {(r["variant"], r["task"]) for r in reported} == {
        (v["name"], task) for v in FRONTIER_VARIANTS for task in ("adding", "copy")
    }
    assert {r["status"] for r in reported} <= {"solved", "unsolved"}, [
        r["error"] for r in reported if r["error"]
    ]
    assert all(r["steps"] for r in reported)
    assert len(chosen) == 2 * len(FRONTIER_VARIANTS) and set(chosen.values()) <= {1e-3, 1e-2}
    tables = study_tables(tmp_path)
    matrix = next(t for t in tables if t.name == "success_matrix")
    assert {row[1] for row in matrix.rows} == {v["name"] for v in FRONTIER_VARIANTS}
    cells = next(t for t in tables if t.name == "rnn_lstm_gru")
    assert cells.columns[1:] == [v["name"] for v in FRONTIER_VARIANTS]
    ratios = next(row for row in cells.rows if row[0] == "time per step vs LSTM")
    assert ratios[1] == "1.00x" and all(r.endswith("x") for r in ratios[2:])
    console = Console(file=io.StringIO(), width=200)
    render_tables(tables, console)
    text = console.file.getvalue()
    assert "Success matrix" in text and "selective SSM" in text and "minLSTM" in text


def test_the_committed_measurement_ran_the_presets_own_runs():
    """docs/results/frontier/study.toml is the preset at adding T = 200, seed 0: same run keys."""
    from pathlib import Path

    from gradtrace.study.loading import load_spec

    committed = Path(__file__).parents[2] / "docs" / "results" / "frontier" / "study.toml"
    measured = expand(load_spec(committed))
    full = expand(preset("frontier"))
    same = [r for r in full if (r.task, r.seq_len, r.seed) == ("adding", 200, 0)]
    assert [r.key for r in measured] == [r.key for r in same] and len(same) == 8
