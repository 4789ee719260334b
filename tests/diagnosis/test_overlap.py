"""diagnose's second core (in worker threads): the same numbers, the thread count back."""

from __future__ import annotations

import contextlib
import math
import threading

import pytest
import torch
from torch import nn

import gradtrace
from gradtrace.diagnosis import diagnose
from gradtrace.diagnosis import diagnosing as diagnosing_module
from gradtrace.diagnosis import measuring as measuring_module
from gradtrace.diagnosis.overlap import SideWorker, side_worker
from gradtrace.diagnosis.recorder import record


@pytest.fixture
def two_threads():
    """Two intra-op threads for the test (the side worker needs two), restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_a_serial_worker_runs_the_job_at_once_and_keeps_its_error():
    side = SideWorker(None)
    assert not side.parallel
    assert side.submit(lambda a, b=0: a + b, 2, b=3).result() == 5
    failed = side.submit(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failed.result()


def _in_thread(job):
    """job() in a fresh worker thread with two intra-op threads: (result, error, thread)."""
    out = {}

    def work():
        torch.set_num_threads(2)
        out["thread"] = threading.current_thread()
        try:
            out["result"] = job()
        except Exception as error:
            out["error"] = error
        out["threads_after"] = torch.get_num_threads()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    return out


def test_the_side_worker_splits_the_threads_and_restores_them(two_threads):
    with side_worker([torch.zeros(1)], parallel=True) as side:
        assert side.parallel
        assert torch.get_num_threads() == 1  # the caller keeps all but one
        assert side.submit(torch.get_num_threads).result() == 1
        assert side.submit(threading.current_thread).result() is not threading.current_thread()
    assert torch.get_num_threads() == 2


def test_one_thread_a_gpu_model_or_parallel_false_gets_a_serial_worker(two_threads):
    with side_worker([torch.zeros(1)]) as side:  # the main thread too: busy cores need it
        assert side.parallel and torch.get_num_threads() == 1
    with side_worker([torch.zeros(1)], parallel=False) as side:
        assert not side.parallel and torch.get_num_threads() == 2

    def parallel_here() -> bool:
        with side_worker([torch.zeros(1)]) as side:
            return side.parallel

    assert _in_thread(parallel_here)["result"]  # a worker thread (the web lab's) gets one
    torch.set_num_threads(1)
    with side_worker([torch.zeros(1)], parallel=True) as side:
        assert not side.parallel
    assert torch.get_num_threads() == 1
    torch.set_num_threads(2)
    meta = torch.zeros(1, device="meta")  # any device that is not the CPU
    with side_worker([meta], parallel=True) as side:
        assert not side.parallel


def test_record_tells_when_a_fused_modules_input_is_recorded():
    model = nn.Sequential(nn.LSTM(2, 3, batch_first=True))
    seen = []
    with record(model, on_fused=lambda path, rec: seen.append((path, path in rec.fused))):
        model(torch.randn(2, 4, 2))
        model(torch.randn(2, 4, 2))  # a second call is not the diagnosed one
    assert seen == [("0", True)]


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(2, 6, num_layers=2, batch_first=True)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        out, _ = self.gru(out)
        return self.head(out[:, -1])


@contextlib.contextmanager
def _serial(params):
    yield SideWorker(None)


def _numbers(value):
    """Every number in a JSON-like value, in order (timings left out)."""
    if isinstance(value, dict):
        return [n for k, v in value.items() if k != "timings" for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    return []


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-300)


def test_diagnose_on_two_cores_gives_the_serial_numbers(two_threads, monkeypatch):
    torch.manual_seed(0)
    model = _Net().double()
    x = torch.randn(4, 30, 2, dtype=torch.float64)
    where = []
    replayed = measuring_module._replayed

    def spy(entries, *args):
        where.append(([e.path for e in entries], threading.current_thread().name))
        return replayed(entries, *args)

    monkeypatch.setattr(measuring_module, "_replayed", spy)
    done = _in_thread(lambda: diagnose(model, x).to_dict())
    parallel, caller = done["result"], done["thread"].name
    # each fused module replayed on the other core as its forward started
    assert [paths for paths, _ in where] == [["rnn"], ["gru"]]
    assert all(name != caller for _, name in where)
    assert done["threads_after"] == 2
    monkeypatch.setattr(diagnosing_module, "side_worker", _serial)
    serial = diagnose(model, x).to_dict()
    assert parallel["verdict"] == serial["verdict"]
    assert parallel["not_computed"] == serial["not_computed"]
    a, b = _numbers(parallel), _numbers(serial)
    assert len(a) == len(b) > 100
    assert all(_close(u, v) for u, v in zip(a, b, strict=True))


def test_a_declared_cell_is_replayed_on_the_callers_thread(two_threads, monkeypatch):
    @gradtrace.recurrent_cell(kind="rnn")
    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden_size = 4
            self.weight_ih = nn.Parameter(torch.randn(4, 2))
            self.weight_hh = nn.Parameter(torch.randn(4, 4) / 4)
            self.bias_ih = self.bias_hh = None
            self.activation = "tanh"

        def forward(self, x_t, state=None):
            h = x_t.new_zeros(x_t.shape[0], 4) if state is None else state
            return torch.tanh(x_t @ self.weight_ih.T + h @ self.weight_hh.T)

    class Loop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = Cell()

        def forward(self, x):
            h = None
            for t in range(x.shape[1]):
                h = self.cell(x[:, t], h)
            return h

    where = []
    replayed = measuring_module._replayed

    def spy(*args):
        where.append(threading.current_thread().name)
        return replayed(*args)

    monkeypatch.setattr(measuring_module, "_replayed", spy)
    done = _in_thread(lambda: diagnose(Loop(), torch.randn(3, 12, 2)))
    assert where == [done["thread"].name]  # it may call the cell: not beside it
    assert done["result"].lyapunov and done["result"].health.layers


def test_the_callers_thread_count_comes_back_after_an_error(two_threads):
    model = _Net()

    def broken(output, batch):
        raise RuntimeError("a loss that fails")

    done = _in_thread(lambda: diagnose(model, torch.randn(2, 5, 2), loss_fn=broken))
    assert "a loss that fails" in str(done["error"]) and done["threads_after"] == 2
