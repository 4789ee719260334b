"""TrainSpec: defaults, bounds, one-line errors naming the field, round trips."""

from __future__ import annotations

import pytest

from gradtrace.training import TrainSpec


def test_defaults_are_adam_without_clipping_or_truncation():
    spec = TrainSpec()
    assert (spec.optimizer, spec.clip, spec.tbptt, spec.threads) == ("adam", "none", None, None)
    assert TrainSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"optimizer": "adagrad"}, "^optimizer: 'adagrad' is not allowed; Input should be 'adam'"),
        ({"lr": float("nan")}, "^lr: nan is not allowed"),
        ({"clip": "both"}, "^clip: 'both' is not allowed"),
        ({"clip_value": 0}, "^clip_value: 0 is not allowed"),
        ({"tbptt": 0}, "^tbptt: 0 is not allowed"),
        ({"batch_size": 10**6}, "^batch_size: 1000000 is not allowed; Input should be less"),
        ({"max_seconds": -1}, "^max_seconds: -1 is not allowed"),
        ({"threads": 0}, "^threads: 0 is not allowed"),
        ({"epochs": 3}, "^epochs: 3 is not allowed; unknown key"),
    ],
)
def test_invalid_fields_raise_one_line_errors_naming_the_field(fields, message):
    with pytest.raises(ValueError, match=message) as error:
        TrainSpec(**fields)
    assert "\n" not in str(error.value)
