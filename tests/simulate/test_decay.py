"""The decay table equals gamma**k; steps-until is ln(eps)/ln(gamma); bad input names itself."""

from __future__ import annotations

import json
import math

import pytest

from gradtrace.errors import InvalidValue
from gradtrace.simulate import DecayTable, decay_table, steps_until

# the classic table as printed, 3 significant digits (rows: 0.9, 0.7, 0.5, 0.3)
CLASSIC = [
    ["0.349", "0.122", "0.00515"],
    ["0.0282", "0.000798", "1.80e-8"],
    ["0.000977", "9.54e-7", "8.88e-16"],
    ["5.90e-6", "3.49e-11", "7.18e-27"],
]
# the same cells as the source text gives them, with its own rounding (mostly truncation)
SOURCE = [
    [0.348, 0.121, 0.005],
    [0.028, 0.0008, 1.7e-8],
    [0.0009, 9.5e-7, 8.8e-16],
    [5.9e-6, 3.4e-11, 7.1e-27],
]


def test_default_table_is_the_classic_one_digit_for_digit():
    table = decay_table()
    assert table.factors == (0.9, 0.7, 0.5, 0.3)
    assert table.steps == (10, 20, 50)
    assert [list(row.text) for row in table.rows] == CLASSIC


def test_values_are_gamma_to_the_k():
    table = decay_table([0.9, 0.3, 1.5], [1, 10, 50])
    for row in table.rows:
        for k, value, log10 in zip(table.steps, row.values, row.log10, strict=True):
            assert value == pytest.approx(row.factor**k, rel=1e-15)
            assert log10 == pytest.approx(k * math.log10(row.factor), rel=1e-14)


def test_every_source_cell_is_within_one_unit_of_its_last_digit():
    # the source drops digits rather than rounding; the true value is never off by more
    for row, source in zip(decay_table().rows, SOURCE, strict=True):
        for value, printed in zip(row.values, source, strict=True):
            last_digit = 10.0 ** math.floor(math.log10(printed) - _digits(printed) + 1)
            assert abs(value - printed) < last_digit


def _digits(x: float) -> int:
    mantissa = f"{x:.6e}".split("e")[0].rstrip("0").replace(".", "")
    return len(mantissa)


def test_magnitudes_beyond_the_double_range_keep_their_digits():
    row = decay_table([0.3, 2.0], [1000, 1100]).rows
    assert row[0].values == (None, None) and row[0].text == ("1.32e-523", "6.81e-576")
    assert row[1].values[0] == 2.0**1000 and row[1].text == ("1.07e+301", "1.36e+331")
    assert row[1].values[1] is None


def test_steps_until_for_decay_is_the_first_step_past_ln_eps_over_ln_gamma():
    found = steps_until(0.9, 1e-3)
    assert found.exact == pytest.approx(math.log(1e-3) / math.log(0.9))
    assert found.steps == 66
    assert 0.9**66 < 1e-3 <= 0.9**65
    assert found.regime == "vanishing"
    assert "falls below 0.001 after 66 steps" in found.text


def test_steps_until_for_growth_counts_steps_to_exceed_one_over_eps():
    found = steps_until(1.5, 1e-3)
    assert found.regime == "exploding"
    assert found.steps == 18 and 1.5**18 > 1e3 >= 1.5**17
    assert "exceeds 1/eps = 1000" in found.text


def test_steps_until_a_factor_of_one_is_never():
    found = steps_until(1.0, 1e-3)
    assert found.steps is None and found.exact is None and found.regime == "constant"
    assert found.text.startswith("never")


def test_table_with_until_carries_one_answer_per_factor():
    table = decay_table([0.5, 1.0, 2.0], [10], until=0.01)
    assert [u.steps for u in table.until] == [7, None, 7]


def test_record_round_trips_through_strict_json():
    table = decay_table([0.5, 2.0], [1, 2000], until=1e-3)
    data = json.loads(json.dumps(table.to_dict(), allow_nan=False))
    assert set(data) == {"command", "params", "results"} and data["command"] == "decay"
    assert DecayTable.from_dict(data) == table


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factors": [0.9, -1.0]}, "factors: -1.0 is not allowed; must be > 0"),
        ({"factors": [0.0]}, "factors: 0.0 is not allowed; must be > 0"),
        ({"factors": [math.nan]}, "factors: nan is not allowed; must be a finite number"),
        ({"factors": []}, "factors: 'nothing' is not allowed; give at least one value"),
        ({"steps": [0]}, "steps: 0 is not allowed; must be between 1 and 100000"),
        ({"steps": [10**6]}, "steps: 1000000 is not allowed; must be between 1 and 100000"),
        ({"steps": [2.5]}, "steps: 2.5 is not allowed; must be a whole number"),
        ({"until": 1.0}, "eps: 1.0 is not allowed; must be between 0 and 1 (exclusive)"),
    ],
)
def test_bad_input_names_the_parameter_the_value_and_the_rule(kwargs, message):
    with pytest.raises(InvalidValue) as info:
        decay_table(**kwargs)
    assert str(info.value) == message
