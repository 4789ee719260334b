"""Resources are estimated from all sizes together and work beyond the limit is refused first."""

from __future__ import annotations

import pytest
import torch

from gradtrace.diagnosis.probing import ProbeSpec, probe
from gradtrace.errors import InvalidValue
from gradtrace.resources import (
    Estimate,
    available_memory,
    check_memory,
    diagnose_estimate,
    parse_bytes,
    planned_runs,
    probe_estimate,
    recurrent_estimate,
)
from gradtrace.study.expand import expand
from gradtrace.study.loading import spec_from_dict
from gradtrace.study.presets import PRESETS, preset


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8GB", 8 * 2**30),
        ("512m", 512 * 2**20),
        ("1.5 GiB", int(1.5 * 2**30)),
        ("2000000", 2000000),
    ],
)
def test_sizes_parse_in_binary_units(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["lots", "", "-1GB", "0", "5XB", "1e99"])
def test_bad_sizes_name_the_option(text):
    with pytest.raises(InvalidValue, match=r"^--max-memory: .* is not allowed; "):
        parse_bytes(text)


def test_the_estimate_is_linear_in_batch_length_and_layers_beyond_the_base():
    sizes = {"cell": "lstm", "hidden_size": 32, "input_size": 1}
    one = recurrent_estimate("x", num_layers=1, seq_len=100, batch_size=8, **sizes)
    base = recurrent_estimate("x", num_layers=1, seq_len=1, batch_size=1, **sizes).memory_bytes
    for scaled in (
        recurrent_estimate("x", num_layers=1, seq_len=200, batch_size=8, **sizes),
        recurrent_estimate("x", num_layers=1, seq_len=100, batch_size=16, **sizes),
    ):
        assert scaled.memory_bytes - base == pytest.approx(2 * (one.memory_bytes - base), rel=0.02)
        assert scaled.seconds == pytest.approx(2 * one.seconds)


def test_sizes_within_their_bounds_but_huge_together_are_refused_before_any_work():
    spec = ProbeSpec(model={"hidden_size": 4096}, seq_len=100_000, batch_size=8192)
    assert probe_estimate(spec).memory_bytes > 10**14  # each size alone is within its bound
    with pytest.raises(InvalidValue) as info:
        probe(spec)
    message = str(info.value)
    assert message.startswith("probe tanh RNN H=4096: '")
    assert "of memory (estimated)' is not allowed; at most the " in message


def test_an_explicit_limit_is_named_in_the_refusal():
    with pytest.raises(InvalidValue, match=r"at most 1 MB \(--max-memory\)"):
        check_memory(Estimate("probe", 2 * 2**20, 1.0), 2**20)
    check_memory(Estimate("probe", 2**20, 1.0), 2**20)  # at the limit: allowed
    assert available_memory() > 2**20


def test_a_diagnose_estimate_follows_the_model_s_recurrent_modules():
    small = torch.nn.LSTM(1, 16, batch_first=True)
    big = torch.nn.LSTM(1, 16, num_layers=4, batch_first=True)
    batch = torch.zeros(8, 50, 1)
    assert diagnose_estimate(big, batch).memory_bytes > diagnose_estimate(small, batch).memory_bytes
    assert diagnose_estimate(small, torch.zeros(8, 100, 1)).seconds == pytest.approx(
        2 * diagnose_estimate(small, batch).seconds
    )


@pytest.mark.parametrize("name", list(PRESETS))
def test_the_run_count_before_expansion_equals_the_expansion(name):
    spec = preset(name)
    assert planned_runs(spec) == len(expand(spec))


def test_a_grid_count_skips_gated_cells_with_other_activations():
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10, 20],
            "seeds": [0, 1, 2],
            "grid": {
                "cell": ["rnn", "lstm", "gru"],
                "activation": ["tanh", "relu"],
                "hidden_size": [8, 16],
            },
        }
    )
    assert planned_runs(spec) == len(expand(spec)) == (2 + 1 + 1) * 2 * 2 * 3
