"""`gradtrace study` and `gradtrace tables`: exit codes, one-line errors, a tiny real study."""

from __future__ import annotations

import pytest

from gradtrace.cli.main import main
from gradtrace.study.loading import load_spec
from gradtrace.study.presets import preset

TINY = """
name = "tiny"
tasks = ["adding"]
seq_lens = [5, 10]

[model]
hidden_size = 8

[train]
batch_size = 16
eval_every = 5
eval_batch_size = 32
profiles = false

[budget]
max_steps = 5
max_seconds = 10.0

[[variant]]
name = "tanh RNN"

[[variant]]
name = "LSTM"
cell = "lstm"
"""


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_an_invalid_study_file_exits_2_with_one_line_and_runs_nothing(tmp_path, capsys):
    config = tmp_path / "study.toml"
    config.write_text(TINY.replace('cell = "lstm"', 'cell = "lstmm"'))
    code, _, err = run_cli(["study", "--config", str(config), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err == (
        "error: study.toml: variant[2].cell: 'lstmm' is not allowed; choose one of rnn, lstm, gru, "
        "indrnn, exprnn, lru, mingru, minlstm, selective_ssm\n"
    )
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "fast"], "error: --preset: 'fast' is not allowed; choose one of quick,"),
        (["--executor", "dask"], "error: --executor: 'dask' is not allowed; choose one of local,"),
        (["--workers", "0"], "error: --workers: 0 is not allowed; must be in 1<=x<=1024"),
        (["--address", "auto"], "error: --address: 'auto' is not allowed; only with --executor"),
        (["--config", "nowhere.toml"], "error: nowhere.toml: (file): 'nowhere.toml' is not"),
        (["--preset", "quick", "--config", "x.toml"], "error: --config: 'x.toml' is not allowed;"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, capsys, args, message):
    code, _, err = run_cli(["study", *args, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert err.startswith(message) and err.count("\n") == 1
    assert not (tmp_path / "o" / "results.sqlite").exists()


def test_dry_run_shows_the_plan_and_runs_nothing(tmp_path, capsys):
    code, out, _ = run_cli(
        ["study", "--preset", "quick", "--dry-run", "--out", str(tmp_path)], capsys
    )
    assert code == 0
    assert f"study quick: 35 runs (0 already finished in {tmp_path})" in out
    assert "task adding: T = 10, 25, 50, 100, 200" in out
    assert not (tmp_path / "results.sqlite").exists()


def test_show_config_prints_toml_that_reads_back_as_the_preset(tmp_path, capsys):
    code, out, _ = run_cli(["study", "--preset", "standard", "--show-config"], capsys)
    assert code == 0
    (tmp_path / "standard.toml").write_text(out)
    assert load_spec(tmp_path / "standard.toml") == preset("standard")


def test_tables_of_a_folder_without_a_study_exit_2(tmp_path, capsys):
    code, _, err = run_cli(["tables", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith(f"error: DIRECTORY: '{tmp_path}' is not allowed; a study folder")


@pytest.mark.slow
def test_a_tiny_real_study_writes_its_store_and_tables_and_tables_reprints_them(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY)
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        ["study", "--config", str(config), "--out", str(out_dir), "--workers", "2"], capsys
    )
    assert code == 0, err
    assert "tiny: 4 runs in" in err
    assert "Success matrix" in out and "Standard RNN vs LSTM vs GRU" in out
    for name in ("technique", "rnn_lstm_gru", "success_matrix"):
        assert (out_dir / "tables" / f"{name}.csv").is_file()
        assert (out_dir / "tables" / f"{name}.json").is_file()
    (out_dir / "tables" / "technique.csv").unlink()
    code, again, _ = run_cli(["tables", str(out_dir)], capsys)
    assert code == 0 and "Techniques against vanishing" in again
    assert (out_dir / "tables" / "technique.csv").is_file()
    code, _, err = run_cli(["study", "--config", str(config), "--out", str(out_dir)], capsys)
    assert code == 0 and "tiny: 0 runs in" in err and "(4 already finished)" in err
