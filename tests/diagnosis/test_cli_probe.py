"""`gradtrace probe`: report, --json, --plot, --compare, and one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest

from gradtrace.cli.main import main

SMALL = ["--hidden", "8", "--seq-len", "30", "--batch-size", "4"]


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["probe", *args])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--hidden", "0"], "--hidden"),
        (["--cell", "foo"], "--cell"),
        (["--seq-len", "1"], "--seq-len"),
        (["--cell", "lstm", "--activation", "relu"], "--activation"),
        (["--forget-bias", "lots"], "--forget-bias"),
        (["--init", "magic"], "--init"),
        (["--plot", "curve.txt"], "--plot"),
        (["--task", "nope"], "--task"),
        (["--compare", "rnn:foo"], "SPEC 'rnn:foo'"),
        (["--compare", "rnn:hidden=0"], "SPEC 'rnn:hidden=0': hidden_size"),
        (["--compare"], "--compare"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_exit_code_2(capsys, args, named):
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert err.startswith(f"error: {named}") and err.count("\n") == 1
    assert "Traceback" not in err and out == ""


def test_the_report_shows_curve_decay_horizon_spectra_exponents_health_and_advice(capsys):
    code, out, _ = _run(capsys, *SMALL)
    assert code == 0
    for part in (
        "tanh RNN H=8",
        "gradient reaching lag k",
        "keeps ",
        "of the signal per step; after 50 steps",
        "horizon",
        "spectral radius",
        "Lyapunov",
        "unit health",
        "verdict",
    ):
        assert part in out, part


def test_json_output_has_the_result_schema(capsys):
    code, out, _ = _run(capsys, *SMALL, "--cell", "lstm", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["spec"]["model"]["cell"] == "lstm" and data["spec"]["model"]["forget_bias"] == 1.0
    assert data["lags"] == [1, 2, 5, 10, 20, 29]
    assert len(data["g"]) == len(data["relative"]) == 6
    assert set(data["diagnosis"]) >= {"verdict", "spectra", "lyapunov", "health", "profile"}
    assert isinstance(data["diagnosis"]["recommendations"], list)


def test_forget_bias_none_keeps_torchs_default(capsys):
    _, out, _ = _run(capsys, *SMALL, "--cell", "lstm", "--forget-bias", "none", "--json")
    assert json.loads(out)["spec"]["model"]["forget_bias"] is None


def test_plot_writes_a_png(capsys, tmp_path):
    path = tmp_path / "curve.png"
    code, out, _ = _run(capsys, *SMALL, "--plot", str(path))
    assert code == 0 and path.read_bytes()[:4] == b"\x89PNG" and "plot written" in out


def test_compare_puts_every_spec_in_one_table_and_one_plot(capsys, tmp_path):
    path = tmp_path / "compare.png"
    specs = ["rnn:tanh:default", "rnn:tanh:orthogonal", "lstm"]
    code, out, _ = _run(capsys, *SMALL, "--compare", *specs, "--plot", str(path))
    assert code == 0 and path.exists()
    for spec in specs:
        assert spec in out
    assert "gamma_hat" in out and "horizon" in out


def test_compare_json_lists_the_results_in_order(capsys):
    code, out, _ = _run(capsys, *SMALL, "--json", "--compare", "gru", "rnn:relu:identity")
    results = json.loads(out)["results"]
    assert code == 0 and [r["label"] for r in results] == ["gru", "rnn:relu:identity"]
    assert results[1]["spec"]["model"]["init"] == "identity"


def test_the_default_comparison_shows_the_tanh_orthogonal_lstm_contrast(capsys):
    code, out, _ = _run(
        capsys, "--json", "--compare", "rnn:tanh:default", "rnn:tanh:orthogonal", "lstm"
    )
    default, orthogonal, lstm = json.loads(out)["results"]
    assert code == 0
    assert default["verdict"] == "vanishing" and default["horizon"] < 20
    for longer in (orthogonal, lstm):
        assert longer["horizon"] is None or longer["horizon"] > 2 * default["horizon"]


def test_an_lstm_spec_left_unbiased_gets_forget_bias_one_and_says_so(capsys):
    code, out, _ = _run(capsys, *SMALL, "--json", "--compare", "lstm", "lstm:fb=none")
    auto, plain = json.loads(out)["results"]
    assert code == 0 and auto["label"] == "lstm (fb=1)" and plain["label"] == "lstm:fb=none"
    assert auto["spec"]["model"]["forget_bias"] == 1.0
    assert plain["spec"]["model"]["forget_bias"] is None


def test_threads_are_restored_after_the_command(capsys):
    import torch

    before = torch.get_num_threads()
    code, _, _ = _run(capsys, *SMALL, "--threads", "1", "--json")
    assert code == 0 and torch.get_num_threads() == before


def test_plot_takes_its_format_from_the_extension_like_every_plot_option(capsys, tmp_path):
    path = tmp_path / "curve.svg"
    code, _, _ = _run(capsys, *SMALL, "--plot", str(path))
    assert code == 0 and path.read_bytes()[:5] == b"<?xml"


def test_frontier_options_reach_the_probe_and_bad_ones_name_the_option(capsys):
    code, out, _ = _run(capsys, "--cell", "lru", "--state-size", "4", *SMALL, "--json")
    assert code == 0
    import json

    assert json.loads(out)["spec"]["model"]["state_size"] == 4
    code, _, err = _run(capsys, "--cell", "lru", "--r-min", "0.9", "--r-max", "0.5")
    assert code == 2 and err.startswith("error: --r-max: 0.5 is not allowed;")


def test_exprnn_without_activation_probes_the_paper_s_modrelu_and_compare_agrees(capsys):
    code, out, _ = _run(capsys, "--cell", "exprnn", *SMALL, "--json")
    assert code == 0 and json.loads(out)["spec"]["model"]["activation"] == "modrelu"
    code, out, _ = _run(capsys, *SMALL, "--json", "--compare", "exprnn", "exprnn:tanh")
    activations = [r["spec"]["model"]["activation"] for r in json.loads(out)["results"]]
    assert code == 0 and activations == ["modrelu", "tanh"]
