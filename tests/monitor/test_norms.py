"""The monitor's norms against torch's own: per parameter, per layer, in total, and subnormals."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gradtrace.monitor import Monitor, Sink
from gradtrace.monitor.norms import NormMeter, ParamIndex, layer_of, param_norms, subnormal_count


def test_layer_names_split_torch_rnn_layers_and_directions():
    assert layer_of("lstm.weight_hh_l1") == "lstm.l1"
    assert layer_of("enc.rnn.bias_ih_l0_reverse") == "enc.rnn.l0.reverse"
    assert layer_of("lstm.weight_hr_l0") == "lstm.l0"
    assert layer_of("decoder.weight") == "decoder"
    assert layer_of("scale") == "scale"
    assert layer_of("weight_hh_l0") == "l0"


def test_per_parameter_layer_and_total_norms_equal_torch(tiny_lm, lm):
    lm.loss(tiny_lm).backward()
    meter = NormMeter(ParamIndex.of(tiny_lm))
    norms = meter.measure(*meter.grads())
    grads = [p.grad for p in tiny_lm.parameters()]
    assert torch.equal(norms.total, torch.nn.utils.get_total_norm(grads))
    expected = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    torch.testing.assert_close(norms.params, expected, rtol=1e-6, atol=0)
    by_layer = {}
    for name, p in tiny_lm.named_parameters():
        by_layer.setdefault(layer_of(name), []).append(p.grad.flatten())
    layer_names = list(meter.index.layers)
    assert layer_names == ["embed", "lstm.l0", "lstm.l1", "decoder"]
    for i, name in enumerate(layer_names):
        brute = torch.linalg.vector_norm(torch.cat(by_layer[name]))
        torch.testing.assert_close(norms.layers[i], brute, rtol=1e-5, atol=0)


def test_parameters_without_gradient_are_marked_missing_not_zero(tiny_lm, lm):
    tiny_lm.decoder.bias.requires_grad_(True)
    lm.loss(tiny_lm).backward()
    tiny_lm.decoder.bias.grad = None
    meter = NormMeter(ParamIndex.of(tiny_lm))
    norms = meter.measure(*meter.grads())
    position = meter.index.names.index("decoder.bias")
    assert norms.params[position].item() == -1.0
    others = [p.grad for n, p in tiny_lm.named_parameters() if n != "decoder.bias"]
    torch.testing.assert_close(norms.total, torch.nn.utils.get_total_norm(others))


def test_half_precision_norms_are_measured_in_float32_without_overflow():
    grads = [torch.full((100,), 1000.0, dtype=torch.float16)]
    norm = param_norms(grads)
    assert norm.dtype == torch.float32
    assert norm.item() == pytest.approx(10_000.0)


def test_mixed_dtypes_fall_back_to_one_norm_per_gradient():
    grads = [torch.ones(4, dtype=torch.float64), torch.ones(9, dtype=torch.float32)]
    assert param_norms(grads).tolist() == [2.0, 3.0]


def test_subnormal_count_matches_brute_force_when_exact():
    g = torch.Generator().manual_seed(1)
    grads = [torch.randn(300, generator=g), torch.randn(7, 5, generator=g)]
    grads[0][:37] = 1e-40  # subnormal in float32
    grads[1][0, :3] = -2e-39
    grads[1][1, 0] = 0.0  # zero is not subnormal
    count, size = subnormal_count(grads, sample=None)
    tiny = torch.finfo(torch.float32).tiny
    brute = sum(int(((x.abs() < tiny) & (x != 0)).sum()) for x in grads)
    assert (int(count), size) == (brute, 335) == (40, 335)


def test_subnormal_sample_reads_a_bounded_strided_subset():
    grad = torch.zeros(10_000)
    grad[::2] = 1e-40  # every other entry subnormal
    count, size = subnormal_count([grad], sample=1000)
    assert size == 1000  # stride 10 keeps 1000 entries, all at even positions
    assert int(count) == 1000
    assert subnormal_count([], sample=10) == (None, 0)


def test_monitor_records_equal_torch_norms_step_by_step(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    expected = []
    with Monitor(tiny_lm, opt, profile_every=0, flush_every=3) as monitor:
        for i in range(5):
            opt.zero_grad()
            lm.loss(tiny_lm, seed=i).backward()
            expected.append(torch.nn.utils.get_total_norm([p.grad for p in tiny_lm.parameters()]))
            opt.step()
    assert monitor.history.steps == [0, 1, 2, 3, 4]
    assert monitor.history.series["global_norm"] == [t.item() for t in expected]
    assert monitor.history.series["global_norm_clipped"] == [t.item() for t in expected]
    assert not any(monitor.history.series["clipped"])


class Scaled(nn.Module):
    """A model with a top-level parameter and an unused one."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))
        self.unused = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x


def test_missing_gradients_are_none_in_records_and_nan_in_history():
    model = Scaled()
    records = []

    class Keep(Sink):
        def write_step(self, rec):
            records.append(rec)

    with Monitor(model, profile_every=0, sinks=[Keep()]) as monitor:
        model.unused.grad = torch.ones(3)  # a gradient on the first step only
        for _ in range(2):
            model(torch.tensor([3.0, 4.0])).sum().backward()
            monitor.step()
            model.zero_grad(set_to_none=True)
    assert records[0].params == {"scale": 7.0, "unused": pytest.approx(math.sqrt(3))}
    assert records[1].params == {"scale": 7.0, "unused": None}
    assert records[1].layers == {"scale": 7.0}
    series = monitor.history.series
    assert series["layer/scale"] == [7.0, 7.0]
    assert series["layer/unused"][0] == pytest.approx(math.sqrt(3))
    assert math.isnan(series["layer/unused"][1])
