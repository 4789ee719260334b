"""The loops people write: their own clipping, parameters added later, several optimizers,
gradient scalers, closures: measured without a line more than the monitor itself."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gradtrace import Monitor


def _steps(model, opt, lm, n, *, clip=None, seed=0):
    for i in range(n):
        opt.zero_grad()
        lm.loss(model, seed=seed + i).backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()


def test_the_loops_own_clipping_is_seen_without_observe(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    with Monitor(tiny_lm, opt, profile_every=0) as monitor:
        _steps(tiny_lm, opt, lm, 3, clip=0.01)
        _steps(tiny_lm, opt, lm, 2, clip=None, seed=3)
    series = monitor.history.series
    assert all(raw > 0.01 for raw in series["global_norm"])
    assert series["global_norm_clipped"][:3] == pytest.approx([0.01] * 3, rel=1e-4)
    assert series["clipped"] == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_gradient_accumulation_measures_the_accumulated_gradients(tiny_lm, lm):
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    with Monitor(tiny_lm, opt, profile_every=0) as monitor:
        opt.zero_grad()
        lm.loss(tiny_lm, seed=0).backward()
        lm.loss(tiny_lm, seed=1).backward()
        expected = torch.nn.utils.get_total_norm([p.grad for p in tiny_lm.parameters()])
        opt.step()
    assert monitor.history.series["global_norm"][0] == pytest.approx(float(expected), rel=1e-6)


def test_a_parameter_group_added_later_is_measured_and_clipped(tiny_lm, lm):
    head = nn.Linear(lm.vocab, lm.vocab)
    opt = torch.optim.SGD(tiny_lm.decoder.parameters(), lr=0.1)
    with Monitor(tiny_lm, opt, clip="norm", clip_value=1e-3, profile_every=0) as monitor:
        _steps(tiny_lm, opt, lm, 1)
        opt.add_param_group({"params": list(head.parameters())})
        opt.zero_grad()
        (lm.loss(tiny_lm) + head(torch.ones(lm.vocab)).sum()).backward()
        opt.step()
    names = monitor.index.names
    assert "optimizer.param_groups.1.0" in names and "optimizer.param_groups.1.1" in names
    total = torch.nn.utils.get_total_norm([p.grad for p in monitor.index.params])
    assert float(total) == pytest.approx(1e-3, rel=1e-3)  # the new group was clipped too


def test_an_encoder_and_a_decoder_with_two_optimizers_in_one_container(lm):
    torch.manual_seed(0)
    encoder, decoder = nn.LSTM(3, 4, batch_first=True), nn.GRU(4, 4, batch_first=True)
    both = nn.ModuleList([encoder, decoder])
    opt_enc, opt_dec = (torch.optim.Adam(m.parameters(), lr=1e-2) for m in (encoder, decoder))
    with Monitor(both, [opt_enc, opt_dec], profile_every=1) as monitor:
        for _ in range(2):
            opt_enc.zero_grad()
            opt_dec.zero_grad()
            out, _ = decoder(encoder(torch.randn(2, 5, 3))[0])
            out.pow(2).sum().backward()
            opt_enc.step()
            opt_dec.step()
    assert monitor.history.steps == [0, 1]  # one record per iteration
    names = [layer["name"] for layer in monitor.history.profiles[0].profile["layers"]]
    assert names == ["0.l0", "1.l0"]  # a container's models, each profiled


def test_a_grad_scaler_is_unscaled_in_the_raw_norms(tiny_lm, lm):
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    with Monitor(tiny_lm, opt, scaler=scaler, profile_every=0) as monitor:
        opt.zero_grad()
        scaler.scale(lm.loss(tiny_lm)).backward()
        scaler.unscale_(opt)
        expected = torch.nn.utils.get_total_norm([p.grad for p in tiny_lm.parameters()])
        scaler.step(opt)
        scaler.update()
    assert monitor.history.series["global_norm"][0] == pytest.approx(float(expected), rel=1e-5)
    assert monitor.history.series["clipped"] == [0.0]


def test_an_alert_warning_points_at_the_users_line_and_names_the_parameter(tiny_lm, lm):
    import math
    import warnings

    opt = torch.optim.SGD(tiny_lm.parameters(), lr=0.1)
    monitor = Monitor(tiny_lm, opt, profile_every=0, flush_every=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt.zero_grad()
        lm.loss(tiny_lm).backward()
        tiny_lm.lstm.weight_hh_l1.grad[0, 0] = math.nan
        opt.step()
    monitor.close()
    (warning,) = [w for w in caught if "non-finite" in str(w.message)]
    assert warning.filename == __file__
    assert monitor.alerts[0].where == "lstm.weight_hh_l1"
