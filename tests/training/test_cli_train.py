"""`gradtrace train`: a real run, --json and --out records, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from gradtrace.cli.main import main

_QUICK = [
    *("--cell", "lstm", "--hidden", "8", "--task", "adding", "--seq-len", "10"),
    *("--max-steps", "20", "--eval-every", "10", "--eval-batch-size", "32", "--no-profiles"),
]


def _run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    return exit_info.value.code, capsys.readouterr()


def test_json_output_is_the_run_record(capsys, tmp_path):
    out = tmp_path / "runs" / "run.json"
    code, captured = _run([*_QUICK, "--json", "--out", str(out)], capsys)
    assert code == 0
    data = json.loads(captured.out)
    assert data["status"] in ("solved", "unsolved") and data["steps"] >= 10
    assert data["model_spec"]["hidden_size"] == 8 and data["train_spec"]["threads"] is None
    assert json.loads(out.read_text()) == data


def test_the_table_names_status_metric_and_baseline(capsys):
    code, captured = _run(_QUICK, capsys)
    assert code == 0
    assert "held-out mse" in captured.out and "chance baseline" in captured.out
    assert "0.1667" in captured.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hidden", "0"], "error: --hidden: 0 is not allowed"),
        (["--task", "digits", "--seq-len", "100"], "error: --seq-len: 100 is not allowed; digits"),
        (["--task", "sorting"], "error: --task: 'sorting' is not allowed; choose one of adding"),
        (["--clip", "both"], "error: --clip: 'both' is not allowed"),
        (["--task", "copy", "--readout", "attention"], "error: --readout: 'attention'"),
        (["--lr", "fast"], "error: --lr: 'fast' is not allowed; must be a number"),
        (["--symbols", "3"], "error: --symbols: 3 is not allowed; adding has no such option"),
    ],
)
def test_bad_input_prints_one_line_naming_the_option_and_exits_2(args, message, capsys):
    code, captured = _run(args, capsys)
    assert code == 2
    assert captured.err.startswith(message), captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""


def test_the_vanishing_regularizer_and_the_shared_defaults_reach_the_run(capsys):
    from gradtrace import defaults

    args = [*_QUICK[2:], "--cell", "rnn", "--vanishing-reg", "0.5", "--json"]  # a tanh RNN
    code, captured = _run(args, capsys)
    assert code == 0
    data = json.loads(captured.out)
    assert data["train_spec"]["vanishing_reg"] == 0.5
    assert data["train_spec"]["lr"] == defaults.LR
    assert data["train_spec"]["batch_size"] == defaults.BATCH_SIZE
    code, captured = _run([*_QUICK, "--json"], capsys)
    assert json.loads(captured.out)["model_spec"]["forget_bias"] == defaults.LSTM_FORGET_BIAS
    code, captured = _run([*_QUICK, "--vanishing-reg", "1"], capsys)
    assert code == 2 and captured.err.startswith("error: --vanishing-reg: 1.0 is not allowed")


def test_frontier_options_reach_the_model_and_bad_ones_name_the_option(capsys):
    lru = ["--cell", "lru", "--hidden", "8", "--task", "adding", "--seq-len", "10"]
    quick = ["--max-steps", "10", "--eval-every", "10", "--eval-batch-size", "16", "--no-profiles"]
    code, captured = _run([*lru, *quick, "--r-min", "0.5", "--r-max", "0.8", "--json"], capsys)
    assert code == 0
    spec = json.loads(captured.out)["model_spec"]
    assert (spec["r_min"], spec["r_max"]) == (0.5, 0.8)
    code, captured = _run([*lru, "--r-min", "0.9", "--r-max", "0.5"], capsys)
    assert code == 2 and captured.err.startswith("error: --r-max: 0.5 is not allowed;")
    code, captured = _run(["--cell", "lstm", "--horizon", "10"], capsys)
    assert code == 2 and captured.err.startswith("error: --horizon: 10 is not allowed;")
