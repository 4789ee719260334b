"""`simulate memory`: the closed form, the exact finite-t sum and autograd's Monte Carlo agree."""

from __future__ import annotations

import json

import pytest
import torch

from gradtrace.cli.main import main
from gradtrace.errors import InvalidValue
from gradtrace.simulate.memory import (
    closed_form,
    converged_steps,
    finite_sum,
    memory_sensitivity,
)


def _coefficients(lam: float, steps: int) -> torch.Tensor:
    """dh_t/dlambda as a linear function of x: its coefficient on every x_s, by autograd."""
    x = torch.eye(steps, dtype=torch.float64)  # row s: the input that is 1 at step s only
    lams = torch.full((steps, 1), lam, dtype=torch.float64, requires_grad=True)
    h = torch.zeros(steps, dtype=torch.float64)
    for t in range(steps):  # a plain loop: no gradtrace code in the reference
        h = lams[:, 0] * h + x[:, t]
    (grad,) = torch.autograd.grad(h.sum(), lams)
    return grad[:, 0]


@pytest.mark.parametrize("lam", [0.0, 0.3, -0.6, 0.9])
def test_the_exact_sum_is_the_variance_of_autograds_derivative(lam):
    # dh_t/dlambda = sum_s c_s x_s with x white, unit variance: E[(.)^2] = sum_s c_s^2 exactly
    steps = 40
    coefficients = _coefficients(lam, steps)
    assert float(coefficients.square().sum()) == pytest.approx(finite_sum(lam, steps), rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.5, -0.8, 0.95, 0.99])
def test_the_exact_sum_tends_to_the_closed_form(lam):
    steps = converged_steps(lam)
    assert finite_sum(lam, steps) == pytest.approx(closed_form(lam), rel=1e-9)
    assert finite_sum(lam, 20_000) == pytest.approx(closed_form(lam), rel=1e-12)
    assert closed_form(0.5) == pytest.approx(1.25 / 0.75**3, rel=1e-15)


def test_autograds_monte_carlo_brackets_the_closed_form():
    result = memory_sensitivity([0.0, 0.5, 0.9, 0.99], samples=2000, seed=0)
    for row in result.rows:
        assert row.low < row.measured < row.high
        assert row.within  # the exact finite-t value is inside the 99% interval
        assert row.low <= row.closed_form <= row.high
        assert (row.high - row.low) / row.measured < 0.2  # the interval says something
    values = [row.closed_form for row in result.rows]
    assert values == sorted(values) and values[-1] / values[0] > 1e5  # the curse of memory


def test_a_fixed_seed_gives_the_same_numbers():
    first = memory_sensitivity([0.7], samples=200, steps=50, seed=3)
    second = memory_sensitivity([0.7], samples=200, steps=50, seed=3)
    assert first == second


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lambdas": [1.0]}, "lambdas: 1.0 is not allowed; must be in (-1, 1)"),
        ({"lambdas": [0.5], "samples": 1}, "samples: 1 is not allowed"),
        ({"lambdas": [0.5], "steps": 1}, "steps: 1 is not allowed"),
        ({"lambdas": [0.9999], "samples": 100_000}, "needs"),
        ({"lambdas": []}, "lambdas: 'nothing' is not allowed"),
    ],
)
def test_bad_parameters_are_one_line_errors(kwargs, message):
    with pytest.raises(InvalidValue) as error:
        memory_sensitivity(**kwargs)
    assert message in str(error.value)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "memory", *args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_cli_prints_the_table_json_and_plot(capsys, tmp_path):
    code, out, _ = _run(capsys, "--lambda", "0.5", "0.9", "--samples", "500")
    assert code == 0 and "closed form" in out and "2.96" in out and "264" in out
    figure = tmp_path / "memory.png"
    code, out, _ = _run(
        capsys, "--lambda", "0.5", "--samples", "200", "--json", "--plot", str(figure)
    )
    data = json.loads(out)
    assert code == 0 and set(data) == {"command", "params", "results", "plot"}
    assert data["command"] == "memory" and data["params"]["samples"] == 200
    row = data["results"]["rows"][0]
    assert row["closed_form"] == pytest.approx(1.25 / 0.75**3)
    assert figure.stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lambda", "-1"], "--lambda: -1.0 is not allowed; must be in (-1, 1)"),
        (["--samples", "0"], "--samples: 0 is not allowed; must be between 2 and"),
        (["--lambda", "0.5", "--steps", "1"], "--steps: 1 is not allowed; must be between 2"),
        (["--plot", "figure.txt"], "--plot: 'figure.txt' is not allowed; must be"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = _run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {message}") and err.count("\n") == 1
