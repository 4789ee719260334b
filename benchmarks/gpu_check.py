"""Every CUDA check and ratio in one go (meant for a GPU machine; about 3-5 minutes on one GPU).

1. trace on CUDA equals trace on CPU (float64; CPU is tested against brute-force autograd), for
   LSTM / GRU / RNN, 2 layers, bidirectional, packed sequences; outputs and parameter gradients
   equal the module's own (cuDNN) forward and backward.
2. trace vs cuDNN forward+backward: the ratio grid (bench_trace --device cuda, T up to 1000;
   --full adds T = 10000).
3. train() on CUDA: a short run trains to its end with finite numbers.
4. packed runs on CUDA: train_packed equals train_alone to float32 rounding; runs per hour of
   both (bench_packed --device cuda).
5. a small study (local executor, 1 worker; runs train on device "auto", the GPU) trains
   every run to its end.

Prints one PASS/FAIL line per check and exits 1 when any failed. Without a GPU it says so and
exits 2: nothing in gradtrace depends on one.

    python benchmarks/gpu_check.py [--full]
    python benchmarks/gpu_check.py --device cpu    # a dry run of the script itself
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import gradtrace

MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
FINISHED = ("solved", "unsolved")  # a run that trained to its end (not failed or diverged)


def _traced(module: nn.Module, x, lengths=None):
    inputs = x if lengths is None else pack_padded_sequence(x, lengths, enforce_sorted=False)
    module.zero_grad(set_to_none=True)
    with gradtrace.trace(module) as tr:
        out, _ = module(inputs)
        data = out.data if lengths is not None else out
        (data * data).sum().backward()
    grads = [p.grad.detach().cpu() for p in module.parameters()]
    return data.detach().cpu(), grads, tr.profile


def check_trace_equal(device: str) -> None:
    """CUDA trace == CPU trace (float64); CUDA trace output/grads == cuDNN's own."""
    for cls in MODULES.values():
        for options in ({}, {"num_layers": 2, "bidirectional": True}):
            for lengths in (None, torch.tensor([9, 5, 3, 9])):
                torch.manual_seed(0)
                cpu = cls(5, 7, **options).double()
                gpu = cls(5, 7, **options).double().to(device)
                gpu.load_state_dict(cpu.state_dict())
                x = torch.randn(9, 4, 5, dtype=torch.float64)
                out_c, grads_c, prof_c = _traced(cpu, x, lengths)
                out_g, grads_g, prof_g = _traced(gpu, x.to(device), lengths)
                torch.testing.assert_close(out_g, out_c, rtol=1e-10, atol=1e-12)
                for a, b in zip(grads_g, grads_c, strict=True):
                    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
                for la, lb in zip(prof_g.layers, prof_c.layers, strict=True):
                    torch.testing.assert_close(
                        torch.as_tensor(la.g), torch.as_tensor(lb.g), rtol=1e-9, atol=1e-14
                    )
                gpu.zero_grad(set_to_none=True)  # the module's own cuDNN path
                inputs = x.to(device)
                if lengths is not None:
                    inputs = pack_padded_sequence(inputs, lengths, enforce_sorted=False)
                own, _ = gpu(inputs)
                data = own.data if lengths is not None else own
                (data * data).sum().backward()
                torch.testing.assert_close(data.detach().cpu(), out_g, rtol=1e-10, atol=1e-12)
                for p, b in zip(gpu.parameters(), grads_g, strict=True):
                    torch.testing.assert_close(p.grad.cpu(), b, rtol=1e-9, atol=1e-12)


def check_trace_ratios(full: bool, device: str) -> None:
    """bench_trace's grid against cuDNN."""
    from bench_trace import main as bench_trace

    steps = "20,100,1000,10000" if full else "20,100,1000"
    if device == "cpu":  # a dry run of this script: one small case
        bench_trace(["--steps", "20", "--hidden", "64", "--no-memory"])
        return
    bench_trace(["--device", device, "--steps", steps, "--no-memory"])


def check_trainer(device: str) -> None:
    """A short run of train() on the device trains to its end with finite numbers."""
    from gradtrace.training import train

    record = train(
        {"cell": "lstm", "hidden_size": 32},
        {"name": "adding", "seq_len": 50},
        {"max_steps": 30, "device": device, "eval_every": 30},
    )
    assert record.status in FINISHED, (record.status, record.error)
    assert record.final_loss is not None and record.final_loss == record.final_loss


def check_packed(device: str) -> None:
    """train_packed == train_alone on CUDA to float32 rounding; runs per hour of both."""
    from bench_packed import measure

    from gradtrace.training.packed import train_alone, train_packed

    task = {"name": "adding", "seq_len": 20}
    for cell in ("rnn", "gru", "lstm"):
        model = {"cell": cell, "hidden_size": 8}
        packed = train_packed(model, task, seeds=[0, 1], lrs=[1e-2, 1e-3], steps=3, device=device)
        for i, (seed, lr) in enumerate(((0, 1e-2), (1, 1e-3))):
            alone = train_alone(model, task, seed=seed, lr=lr, steps=3, device=device)
            got, want = packed.losses[:, i], alone.losses[:, 0]
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)
    print(f"{'cell':6} {'packed runs/h':>14} {'alone runs/h':>13} {'ratio':>6}")
    for cell in ("rnn", "gru", "lstm"):
        p, a = measure(cell, 16, 50 if device != "cpu" else 2, 1, device)
        print(f"{cell:6} {3600 / p:>14.0f} {3600 / a:>13.0f} {a / p:>6.2f}")


def check_study(device: str) -> None:
    """A tiny study trains every run to its end (device "auto": the GPU when there is one)."""
    from gradtrace.study.loading import spec_from_dict
    from gradtrace.study.runner import run_study
    from gradtrace.study.store import open_store

    spec = spec_from_dict(
        {
            "name": "gpu-check",
            "tasks": ["adding"],
            "seq_lens": [30],
            "seeds": [0, 1],
            "model": {"hidden_size": 16},
            "train": {"eval_every": 20, "profiles": False},  # device "auto": the GPU
            "budget": {"max_steps": 20, "max_seconds": 120.0},
            "variant": [{"name": "GRU", "cell": "gru"}],
        }
    )
    with tempfile.TemporaryDirectory() as out:
        run_study(spec, Path(out), workers=1)
        with open_store(out, readonly=True) as store:
            statuses = [row["status"] for row in store.rows()]
    assert statuses and all(s in FINISHED for s in statuses), statuses


def main() -> None:
    """Run every check, print PASS/FAIL lines and the ratio tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="trace ratios up to T = 10000")
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu: a dry run")
    args = parser.parse_args()
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: nothing to check (gradtrace runs the same code on CPU)")
        sys.exit(2)
    sys.path.insert(0, str(Path(__file__).parent))  # the sibling benchmarks
    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu (dry run)"
    print(f"{name}, torch {torch.__version__}")
    checks: list[tuple[str, Callable[[], None]]] = [
        ("trace on the device equals CPU and the module's own kernels", check_trace_equal),
        ("trace / own forward+backward ratios", lambda d: check_trace_ratios(args.full, d)),
        ("train() on the device", check_trainer),
        ("packed runs on the device", check_packed),
        ("study runs on the device", check_study),
    ]
    failed = 0
    for name, check in checks:
        start = time.perf_counter()
        try:
            check(device)
            print(f"PASS {name} ({time.perf_counter() - start:.1f} s)", flush=True)
        except Exception:  # report every check, then fail at the end
            failed += 1
            print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
