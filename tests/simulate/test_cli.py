"""`gradtrace simulate`: tables as printed, JSON schema, plots, and one-line errors with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradtrace.cli.main import main
from gradtrace.cli.simulate import expand_lists


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["simulate", *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def table_rows(text: str) -> list[list[str]]:
    """Body rows of a printed Rich table, cells stripped."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


def test_decay_prints_the_classic_table_digit_for_digit(capsys):
    code, out, _ = run(
        capsys, "decay", "--factor", "0.9", "0.7", "0.5", "0.3", "--steps", "10", "20", "50"
    )
    assert code == 0
    assert table_rows(out) == [
        ["0.9", "0.349", "0.122", "0.00515", "vanishing"],
        ["0.7", "0.0282", "0.000798", "1.80e-8", "vanishing"],
        ["0.5", "0.000977", "9.54e-7", "8.88e-16", "vanishing"],
        ["0.3", "5.90e-6", "3.49e-11", "7.18e-27", "vanishing"],
    ]


def test_decay_until_adds_the_crossing_step_and_labels_growth(capsys):
    code, out, _ = run(
        capsys, "decay", "--factor", "0.9", "1", "1.5", "--steps", "10", "--until", "0.001"
    )
    assert code == 0
    assert table_rows(out) == [
        ["0.9", "0.349", "step 66", "vanishing"],
        ["1", "1.00", "never", "constant"],
        ["1.5", "57.7", "step 18", "exploding"],
    ]


def test_json_has_the_documented_top_level_keys_for_every_command(capsys):
    for args in (
        ["decay"],
        ["layers"],
        ["activations", "--sigma", "1"],
        ["matrix", "--hidden", "4", "--steps", "5"],
    ):
        code, out, _ = run(capsys, *args, "--json")
        data = json.loads(out)
        assert code == 0 and set(data) == {"command", "params", "results"}
        assert data["command"] == args[0]


def test_matrix_json_carries_every_lag_and_the_conditions(capsys):
    code, out, _ = run(
        capsys,
        "matrix",
        "--hidden",
        "8",
        "--steps",
        "30",
        "--rho",
        "0.9",
        "--weights",
        "orthogonal",
        "--json",
    )
    results = json.loads(out)["results"]
    assert code == 0 and results["lags"] == list(range(1, 31))
    assert len(results["norms"]) == len(results["log10_norms"]) == 30
    assert results["sufficient_vanishing"] is True and len(results["conditions"]) == 3


def test_layers_table_shows_values_bars_and_verdict(capsys):
    code, out, _ = run(capsys, "layers", "-w", "2", "-L", "3")
    assert code == 0
    rows = table_rows(out)
    assert [row[:3] for row in rows] == [
        ["1", "w^2", "4.00"],
        ["2", "w^1", "2.00"],
        ["3", "w^0", "1.00"],
    ]
    assert rows[0][3] == "█" * 32
    assert "4.00 x layer 3's gradient -> stable" in out  # 4 is within the band of 10


def test_plots_are_written_for_each_command(capsys, tmp_path):
    for command in ("decay", "layers", "matrix"):
        target = tmp_path / "sub" / f"{command}.png"
        extra = ["--steps", "20"] if command == "matrix" else []
        code, out, _ = run(capsys, command, *extra, "--plot", str(target))
        assert code == 0 and f"plot written to {target}" in out.replace("\n", "")
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tour_writes_four_figures_and_titles_each_part(capsys, tmp_path):
    code, out, _ = run(capsys, "tour", "--out", str(tmp_path / "tour"))
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "tour").iterdir()) == [
        "activations.png",
        "decay.png",
        "layers.png",
        "matrix.png",
    ]
    for title in (
        "1. Decay factors",
        "2. Five layers",
        "3. Activation slopes",
        "4. A real tanh recurrence",
    ):
        assert title in out
    assert out.count("Notice") == 4


def test_tour_json_lists_the_parts_and_their_claims_hold(capsys, tmp_path):
    code, out, _ = run(capsys, "tour", "--out", str(tmp_path), "--json")
    parts = json.loads(out)["results"]["parts"]
    assert code == 0 and [p["name"] for p in parts] == ["decay", "layers", "activations", "matrix"]
    layers = [r["results"]["verdict"] for r in parts[1]["records"]]
    assert layers == ["vanishing", "stable", "exploding"]
    matrix = [r["results"]["verdict"] for r in parts[3]["records"]]
    assert matrix == ["vanishing", "vanishing", "exploding"]  # rho 0.9, 1.5, 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["decay", "--factor", "-1"], "--factor: -1.0 is not allowed; must be > 0"),
        (["decay", "--factor", "0.5", "0"], "--factor: 0.0 is not allowed; must be > 0"),
        (["decay", "--steps", "0"], "--steps: 0 is not allowed; must be between 1 and 100000"),
        (["decay", "--until", "1.5"], "--until: 1.5 is not allowed; must be between 0 and 1"),
        (["decay", "--factor", "x"], "--factor: 'x' is not allowed; must be a number"),
        (["layers", "-w", "0"], "--weight-scale: 0.0 is not allowed; must be > 0"),
        (["layers", "--layers", "0"], "--layers: 0 is not allowed; must be between 1 and 1000"),
        (["activations", "--activation", "gelu"], "--activation: 'gelu' is not allowed;"),
        (["activations", "--sigma", "0"], "--sigma: 0.0 is not allowed; must be > 0"),
        (["matrix", "--hidden", "0"], "--hidden: 0 is not allowed; must be between 1 and 4096"),
        (["matrix", "--hidden", "9999"], "--hidden: 9999 is not allowed; must be between 1"),
        (["matrix", "--rho", "-0.5"], "--rho: -0.5 is not allowed; must be > 0"),
        (["matrix", "--activation", "gelu"], "--activation: 'gelu' is not allowed; choose"),
        (["matrix", "--weights", "eye"], "--weights: 'eye' is not allowed; choose one of"),
        (["matrix", "--steps", "-3"], "--steps: -3 is not allowed; must be between 1 and"),
        (["matrix", "--input-scale", "-1"], "--input-scale: -1.0 is not allowed; must be >= 0"),
        (["matrix", "--plot", "figure.txt"], "--plot: 'figure.txt' is not allowed; must be"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_2(capsys, args, message):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_unwritable_plot_path_fails_before_computing(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    code, out, err = run(
        capsys, "matrix", "--hidden", "4096", "--steps", "16", "--plot", str(blocker / "x.png")
    )  # would take a while if computed
    assert code == 2 and out == ""
    assert err.startswith("error: --plot: '") and err.endswith(f"; {blocker} is not a folder\n")


def test_tour_out_must_be_a_folder(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    code, _, err = run(capsys, "tour", "--out", str(blocker))
    assert code == 2 and err.startswith("error: --out: '")
    assert err.endswith("is not allowed; it is a file; give a folder\n")


def test_a_real_process_prints_no_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "gradtrace.cli.main", "simulate", "decay", "--factor", "-1"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr == "error: --factor: -1.0 is not allowed; must be > 0\n"


def test_list_options_take_values_until_the_next_option():
    assert expand_lists(
        ["--factor", "0.9", "-1", "--steps", "5", "--json"], ("--factor", "--steps")
    ) == ["--factor", "0.9", "--factor", "-1", "--steps", "5", "--json"]
    assert expand_lists(["--factor", "--json"], ("--factor",)) == ["--factor", "--json"]
    assert expand_lists(["--factor=0.5"], ("--factor",)) == ["--factor=0.5"]
