"""GradientProfile: lags, decay factor, horizon, verdicts, sentences, JSON and the plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradtrace.errors import InvalidValue
from gradtrace.tracing import GradientProfile, LayerProfile


def _geometric(gamma: float, steps: int, *, direction: int = 0, name: str = "rnn.l0"):
    by_lag = gamma ** np.arange(steps)
    g = by_lag if direction else by_lag[::-1].copy()
    return LayerProfile(name, "rnn", 0, direction, g)


def test_a_geometric_profile_has_the_closed_form_decay_factor_and_horizon():
    layer = _geometric(0.9, 100)
    assert layer.decay_factor == pytest.approx(0.9, rel=1e-12)
    assert layer.relative[5] == pytest.approx(0.9**5)
    assert layer.horizon(1e-3) == math.ceil(math.log(1e-3) / math.log(0.9))
    assert layer.verdict() == "vanishing"
    assert layer.seq_len == 100


def test_a_reverse_direction_counts_lags_from_its_first_time_step():
    forward, reverse = _geometric(0.8, 20), _geometric(0.8, 20, direction=1)
    np.testing.assert_allclose(reverse.relative, forward.relative)
    assert reverse.g[0] == 1.0 and forward.g[-1] == 1.0
    assert reverse.decay_factor == pytest.approx(0.8)


def test_the_profile_verdict_is_the_worst_layer():
    healthy = _geometric(1.0, 10, name="a")
    vanishing = _geometric(0.5, 30, name="b")
    exploding = _geometric(1.5, 30, name="c")
    assert GradientProfile([healthy]).verdict() == "healthy"
    assert GradientProfile([healthy, vanishing]).verdict() == "vanishing"
    assert GradientProfile([vanishing, exploding, healthy]).verdict() == "exploding"
    broken = LayerProfile("d", "lstm", 0, 0, np.array([1.0, np.nan, 2.0]))
    assert GradientProfile([exploding, broken]).verdict() == "non-finite"


def test_describe_says_how_much_signal_is_kept_per_step():
    text = _geometric(0.93, 51).describe()
    assert "keeps 0.93 of the signal per step; after 50 steps 0.027 remains" in text
    assert "grows by a factor 1.1 per step" in _geometric(1.1, 10).describe()
    silent = LayerProfile("x", "gru", 0, 0, np.array([1.0, 0.0]))
    assert "no gradient reaches its last step" in silent.describe()


def test_json_round_trip_keeps_non_finite_numbers():
    g = np.array([np.nan, np.inf, -np.inf, 1e-300, 2.5])
    profile = GradientProfile(
        [
            LayerProfile("enc.l0", "lstm", 0, 0, g, g_cell=np.array([1.0, 2, 3, 4, 5])),
            LayerProfile("enc.l0.reverse", "gru", 0, 1, np.arange(5.0)),
        ]
    )
    text = profile.to_json()
    assert '"nan"' in text and '"inf"' in text and '"-inf"' in text
    json.loads(text)  # strict JSON
    back = GradientProfile.from_json(text)
    assert back.to_dict() == profile.to_dict()
    np.testing.assert_array_equal(back.layers[0].g, g)
    assert back.layers[1].g_cell is None and back.layers[1].direction == 1


def test_from_dict_reads_null_as_nan_and_rejects_unknown_keys():
    data = {"layers": [{"name": "a", "kind": "rnn", "layer": 0, "direction": 0, "g": [1, None]}]}
    assert math.isnan(GradientProfile.from_dict(data).layers[0].g[1])
    data["layers"][0]["gamma"] = 1
    with pytest.raises(InvalidValue, match="gamma"):
        GradientProfile.from_dict(data)
    with pytest.raises(InvalidValue, match="layers"):
        GradientProfile.from_dict({"rows": []})


def test_layer_lookup_names_the_choices():
    profile = GradientProfile([_geometric(0.9, 5, name="a.l0")])
    assert profile.layer("a.l0").name == "a.l0"
    with pytest.raises(InvalidValue, match=r"one of a\.l0"):
        profile.layer("b.l0")


def test_summary_rows_carry_end_points_and_verdicts():
    (row,) = GradientProfile([_geometric(0.5, 12)]).summary()
    assert row["g_last"] == 1.0 and row["g_first"] == pytest.approx(0.5**11)
    assert row["horizon"] == 10 and row["verdict"] == "vanishing"
    assert row["decay_factor"] == pytest.approx(0.5)


def test_plot_draws_one_line_per_layer_and_saves_a_png(tmp_path):
    cell = np.linspace(1, 0.1, 8)
    profile = GradientProfile(
        [_geometric(0.9, 8, name="a"), LayerProfile("b", "lstm", 0, 1, np.ones(8), cell)]
    )
    figure = profile.plot(tmp_path / "profile.png")
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b", "b (cell)"]
    assert (tmp_path / "profile.png").read_bytes()[:4] == b"\x89PNG"
