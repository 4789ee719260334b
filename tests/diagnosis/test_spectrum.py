"""Spectra of recurrent matrices against numpy's eig and svd."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from gradtrace.diagnosis.spectrum import DERIVATIVE_BOUND, MatrixSpectrum, matrix_spectrum, spectra
from gradtrace.models.cells import make_cell


def _numpy_reference(w: np.ndarray) -> tuple[float, float, np.ndarray]:
    eig = np.linalg.eigvals(w)
    return float(np.abs(eig).max()), float(np.linalg.svd(w, compute_uv=False)[0]), eig


def test_matrix_spectrum_matches_numpy_eig_and_svd():
    w = torch.randn(12, 12, dtype=torch.float64) * 0.4
    radius, singular, values = matrix_spectrum(w)
    ref_radius, ref_singular, ref_values = _numpy_reference(w.numpy())
    assert radius == pytest.approx(ref_radius, rel=1e-10)
    assert singular == pytest.approx(ref_singular, rel=1e-10)
    assert np.allclose(np.sort_complex(values), np.sort_complex(ref_values))


def test_matrix_spectrum_of_non_finite_matrix_is_nan_not_an_error():
    w = torch.eye(3)
    w[0, 0] = math.nan
    radius, singular, values = matrix_spectrum(w)
    assert math.isnan(radius) and math.isnan(singular) and values.size == 0


def test_matrix_spectrum_rejects_a_non_square_matrix():
    with pytest.raises(ValueError, match="square"):
        matrix_spectrum(torch.zeros(4, 3))


def test_rnn_spectrum_is_the_whole_recurrent_matrix():
    model = nn.RNN(3, 10, batch_first=True)
    (found,) = spectra(model)
    ref_radius, ref_singular, ref_values = _numpy_reference(model.weight_hh_l0.detach().numpy())
    assert found.gate == "h" and found.activation == "tanh"
    assert found.spectral_radius == pytest.approx(ref_radius, rel=1e-5)
    assert found.max_singular == pytest.approx(ref_singular, rel=1e-5)
    assert len(found.eigenvalues) == 10
    got = np.array([complex(re, im) for re, im in found.eigenvalues])
    assert np.allclose(np.sort_complex(got), np.sort_complex(ref_values), atol=1e-5)
    assert found.derivative_bound == DERIVATIVE_BOUND["tanh"] == 1.0


def test_lstm_spectra_are_per_gate_block_in_torch_order():
    model = nn.LSTM(2, 6, num_layers=2, bidirectional=True)
    found = spectra(model)
    assert [(s.name, s.gate) for s in found[:4]] == [("lstm.l0", g) for g in "ifgo"]
    assert len(found) == 2 * 2 * 4
    reverse_l1_forget = next(s for s in found if s.name == "lstm.l1.reverse" and s.gate == "f")
    block = model.weight_hh_l1_reverse.detach().numpy()[6:12]
    assert reverse_l1_forget.spectral_radius == pytest.approx(_numpy_reference(block)[0], rel=1e-5)


def test_lstm_projection_is_folded_into_each_square_block():
    model = nn.LSTM(2, 6, proj_size=3)
    found = spectra(model)
    w_hr = model.weight_hr_l0.detach().double().numpy()  # (3, 6)
    block = model.weight_hh_l0.detach().double().numpy()[12:18]  # g gate (6, 3)
    ref = _numpy_reference(w_hr @ block)
    got = next(s for s in found if s.gate == "g")
    assert got.spectral_radius == pytest.approx(ref[0], rel=1e-10)
    assert got.max_singular == pytest.approx(ref[1], rel=1e-10)


def test_gru_cell_spectra_name_the_cell_and_its_gates():
    cell = make_cell("gru", 2, 5)
    found = spectra(cell, eigenvalues=False)
    assert [(s.name, s.gate) for s in found] == [("cell", "r"), ("cell", "z"), ("cell", "n")]
    assert all(s.eigenvalues == [] for s in found)


def test_sigmoid_rnn_cell_reports_its_derivative_bound():
    cell = make_cell("rnn", 2, 5, activation="sigmoid")
    (found,) = spectra(cell)
    assert found.derivative_bound == 0.25


def test_matrix_spectrum_round_trips_through_a_dict():
    (found,) = spectra(nn.RNN(1, 4))
    assert MatrixSpectrum.from_dict(found.to_dict()) == found
