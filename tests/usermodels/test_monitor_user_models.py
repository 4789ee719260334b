"""The Monitor on user models: training bit-identical with profiles on, checkpoints clean."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

GRADTRACE_MODULES = (b"gradtrace.monitor", b"gradtrace.tracing", b"gradtrace.diagnosis")


def _trained(entry, steps, monitor_args):
    torch.manual_seed(11)  # dropout masks: the same draws with and without the monitor
    model = entry.build().train()
    monitor = entry.train(model, steps, monitor_args)
    return model, monitor


@pytest.mark.parametrize("profile_every", [1, 100])
def test_training_with_the_monitor_is_bit_identical_to_training_without(entry, profile_every):
    plain, _ = _trained(entry, 4, None)
    watched, monitor = _trained(entry, 4, {"profile_every": profile_every})
    for (name, a), b in zip(plain.state_dict().items(), watched.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    monitor.close()
    assert monitor.enabled is False and monitor.history.steps == [0, 1, 2, 3]
    expected = [0, 1, 2, 3] if profile_every == 1 else [0]
    assert [p.step for p in monitor.history.profiles] == expected


def test_a_profile_of_a_user_model_names_its_layers(entry):
    _, monitor = _trained(entry, 1, {"profile_every": 1})
    (profiled,) = monitor.history.profiles
    names = [layer["name"] for layer in profiled.profile["layers"]]
    assert names and all(n for n in names)
    monitor.close()


def test_checkpoints_hold_nothing_of_gradtrace_while_a_profile_is_open(entry, tmp_path):
    model, monitor = _trained(entry, 2, {"profile_every": 1, "sinks": [tmp_path / "m.jsonl"]})
    assert monitor.profiler.active  # the next step's profile is open right now
    buffer = io.BytesIO()
    torch.save(model, buffer)
    data = buffer.getvalue()
    assert not any(name in data for name in GRADTRACE_MODULES)
    loaded = torch.load(io.BytesIO(data), weights_only=False)
    assert all(
        torch.equal(a, b)
        for a, b in zip(loaded.state_dict().values(), model.state_dict().values(), strict=True)
    )
    plain, _ = _trained(entry, 2, None)
    for round_trip in (lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy):
        assert _outcome(round_trip, model) == _outcome(round_trip, plain)  # as without gradtrace
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    weights.seek(0)
    model.load_state_dict(torch.load(weights, weights_only=True))
    assert not model._forward_hooks and not model._forward_pre_hooks
    monitor.close()


def _outcome(fn, model):
    """What ``fn(model)`` gives: "ok", or the type of what it raised (some user models, such as a
    weight-dropped LSTM after a training forward, cannot be deep-copied with or without us)."""
    try:
        fn(model)
    except Exception as e:
        return type(e).__name__
    return "ok"
