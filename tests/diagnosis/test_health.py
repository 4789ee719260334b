"""Unit health on constructed cases: dead ReLUs, saturation, gate statistics, subnormals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gradtrace.diagnosis.health import Health, layer_health, subnormal_fraction
from gradtrace.diagnosis.recorder import record
from gradtrace.diagnosis.replay import replay
from gradtrace.models.cells import make_cell

F64 = torch.float64


def _run(model: nn.Module, x: torch.Tensor):
    with record(model) as recording:
        model(x)
    return replay(model, recording)


def test_relu_units_with_negative_bias_and_no_input_are_dead_and_others_are_not():
    model = nn.RNN(2, 8, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        for unit in (1, 4, 6):  # pre-activation is always -1 for these units
            model.weight_ih_l0[unit] = 0.0
            model.weight_hh_l0[unit] = 0.0
            model.bias_ih_l0[unit] = -1.0
            model.bias_hh_l0[unit] = 0.0
        model.bias_ih_l0[[0, 2, 3, 5, 7]] = 5.0  # the others are always active
    (run,) = _run(model, torch.randn(16, 20, 2, dtype=F64))
    health = layer_health(run)
    assert health.dead_units == 3
    assert health.dead == pytest.approx(3 / 8)
    assert health.saturated is None


def test_saturated_fraction_matches_a_direct_count_on_torch_pre_activations():
    model = nn.RNN(1, 16, batch_first=True).double()
    with torch.no_grad():
        model.weight_hh_l0.normal_(0.0, 1.0)  # N(0, 1): large pre-activations
    x = torch.randn(8, 30, 1, dtype=F64)
    (run,) = _run(model, x)
    out, _ = model(x)
    h_prev = torch.cat([torch.zeros(8, 1, 16, dtype=F64), out[:, :-1]], 1)
    pre = x @ model.weight_ih_l0.T + model.bias_ih_l0 + h_prev @ model.weight_hh_l0.T
    pre = pre + model.bias_hh_l0
    expected = float(((1 - torch.tanh(pre) ** 2) < 0.05).double().mean())
    health = layer_health(run)
    assert health.saturated == pytest.approx(expected, abs=1e-12)
    assert health.saturated > 0.3


def test_sigmoid_saturation_is_measured_against_its_peak_derivative():
    cell = make_cell("rnn", 1, 4, activation="sigmoid").double()
    with torch.no_grad():
        cell.weight_hh.zero_()
        cell.weight_ih.zero_()
        cell.bias_ih.copy_(torch.tensor([0.0, 3.0, 4.0, 5.0]))  # sigma' / 0.25 = 1, .18, .07, .03
        cell.bias_hh.zero_()
    x = torch.randn(2, 5, 1, dtype=F64)
    with record(cell) as recording:
        state = None
        for t in range(5):
            state = cell(x[:, t], state)
    (run,) = replay(cell, recording)
    assert layer_health(run).saturated == pytest.approx(0.25)
    assert layer_health(run, threshold=0.1).saturated == pytest.approx(0.5)


def test_lstm_gate_means_follow_the_forget_bias():
    model = nn.LSTM(1, 6, batch_first=True).double()
    with torch.no_grad():
        model.weight_ih_l0.zero_()
        model.weight_hh_l0.zero_()
        model.bias_ih_l0.zero_()
        model.bias_hh_l0.zero_()
        model.bias_ih_l0[6:12] = 2.0  # forget gate = sigmoid(2) everywhere
    (run,) = _run(model, torch.randn(4, 10, 1, dtype=F64))
    health = layer_health(run)
    forget = 1 / (1 + math.exp(-2.0))
    assert health.gate_means["forget"] == pytest.approx(forget)
    assert health.gate_means["input"] == pytest.approx(0.5)
    assert health.forget_timescale == pytest.approx(1 / (1 - forget))
    assert sum(health.gate_histogram) == pytest.approx(1.0)
    assert health.gate_histogram[8] == pytest.approx(1.0)  # 0.88 lies in [0.8, 0.9)


def test_gru_reports_update_and_reset_gates():
    model = nn.GRU(1, 5, batch_first=True).double()
    (run,) = _run(model, torch.randn(3, 7, 1, dtype=F64))
    health = layer_health(run)
    assert set(health.gate_means) == {"reset", "update"}
    assert 0 < health.gate_means["update"] < 1
    assert health.forget_timescale is None and len(health.gate_histogram) == 10


def test_subnormal_fraction_counts_only_nonzero_floats_below_the_smallest_normal():
    tiny32 = torch.finfo(torch.float32).tiny
    values = torch.tensor([0.0, 1.0, tiny32, tiny32 / 4, tiny32 / 1e3, -tiny32 / 2, 1e-50])
    # float32: 1e-50 flushes to 0; subnormal: tiny/4, tiny/1e3, -tiny/2
    assert subnormal_fraction([values]) == pytest.approx(3 / 7)
    as64 = values.double()
    assert subnormal_fraction([as64]) == 0.0  # all normal (or zero) in float64
    assert subnormal_fraction([np.array([5e-324, 1.0])]) == pytest.approx(0.5)
    assert subnormal_fraction([]) == 0.0


def test_health_round_trips_through_a_dict():
    (run,) = _run(nn.LSTM(1, 3, batch_first=True).double(), torch.randn(2, 4, 1, dtype=F64))
    health = Health(layers=[layer_health(run)], subnormal_grads=0.5)
    assert Health.from_dict(health.to_dict()) == health
