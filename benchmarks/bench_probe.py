"""Benchmark: probe() of an LSTM with H = 128, T = 200, batch 32 (the web lab's heaviest default).

Prints the median wall time of each variant, measured side by side with interleaved repeats, the
split of a probe into trace / dynamics (Jacobians, Lyapunov exponents, products) / rest (replay
for health is in "dynamics"; spectra, health and advice in "rest"; building the model and the
batch is "setup"), and the ratio of a probe to one plain forward + backward of the same model.

Then diagnose on one core against two (diagnosis/overlap.py: the float64 replay, Lyapunov
exponents and spectra beside the trace) for an LSTM with H = 256 at T = 1000 in float32, at the
lab's batch of 64 and at 16 (the lab's batch when the one-second goal was set), in the main
thread and in a worker thread as the web lab's server runs it; and 4 KiB pages against
transparent huge pages (torch's THP_MEM_ALLOC_ENABLE=1), each in its own process: a fresh trace
touches about 650 MB, but huge pages did not pay here (0.8-1.1x), so gradtrace leaves them off.

Then (the issue's target) an LSTM with H = 256 at T = 1000 and the lab's batch of 64, 1 and 2
layers: probe() in each precision (goal: <= 0.7 s for 1 layer, 1.4 s for 2), the float32 probe
without the backward's power-of-two rescaling (as before it: subnormal gradients), diagnose() of
the float32 model, and POST /api/probe through FastAPI's TestClient (goal 1 s, 2 s); then the
cost against T = 1000, 10000, 100000 (float32, each in its own process, with its peak memory;
points that need more than 24 GiB or the memory available are skipped and say so; T = 100000
also with --long-batch examples). Per-step time should stay flat: cost linear in T.

    python benchmarks/bench_probe.py [--quick] [--threads N] [--max-steps 100000] [--skip-small]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time

import torch

from gradtrace.diagnosis import ProbeSpec, probe
from gradtrace.models import ModelSpec, build_model

HIDDEN, STEPS, BATCH = 128, 200, 32
BATCH_LAB = 64  # the lab's and probe's default batch (gradtrace.defaults.BATCH_SIZE)
MEMORY_CAP = 24 << 30  # the sweep's points stay within 24 GiB


def plain_step(dtype: torch.dtype) -> float:
    """One forward + backward of the same model without any tracing (the floor)."""
    torch.manual_seed(0)
    model = build_model(ModelSpec(cell="lstm", hidden_size=HIDDEN)).to(dtype)
    x = torch.randn(BATCH, STEPS, 1, dtype=dtype)
    started = time.perf_counter()
    model(x).sum().backward()
    return time.perf_counter() - started


def _seconds(spec: ProbeSpec) -> tuple[float, dict[str, float], str, float]:
    """Wall seconds of one probe, its split, the precision the trace used, and CPU seconds."""
    started = time.process_time()
    result = probe(spec)
    cpu = time.process_time() - started
    split = dict(result.diagnosis.timings)
    split["setup"] = result.seconds - sum(split.values())
    return result.seconds, split, result.dtype, cpu


def _median_probe(spec: ProbeSpec, repeats: int) -> tuple[float, float, dict[str, float], str]:
    """Median wall seconds, CPU seconds and split of ``repeats`` probes of ``spec``."""
    runs = [_seconds(spec) for _ in range(repeats)]
    split = {k: statistics.median(r[1][k] for r in runs) for k in runs[0][1]}
    wall = statistics.median(r[0] for r in runs)
    return wall, statistics.median(r[3] for r in runs), split, runs[0][2]


def _unscaled() -> contextlib.AbstractContextManager:
    """The float32 backward as it was before rescaling (gradients allowed to turn subnormal)."""
    from gradtrace.tracing.kernels import rescale

    @contextlib.contextmanager
    def patched():
        saved = rescale.LOW_BITS
        rescale.LOW_BITS = {}
        try:
            yield
        finally:
            rescale.LOW_BITS = saved

    return patched()


def target(repeats: int, max_steps: int, long_batch: int) -> None:
    """LSTM H=256 T=1000 (1 and 2 layers): probe, diagnose, /api/probe; then cost against T."""
    print(f"\nLSTM H=256 T=1000 batch={BATCH_LAB} (goal 0.7 s per layer); {_load()}")
    warm = ModelSpec(cell="lstm", hidden_size=256)
    for dtype in ("float32", "float64"):  # first calls: allocator, kernels, imports
        probe(ProbeSpec(model=warm, seq_len=1000, batch_size=BATCH_LAB, dtype=dtype))
    for layers in (1, 2):
        model = ModelSpec(cell="lstm", hidden_size=256, num_layers=layers)
        goal = 0.7 * layers
        times = {}
        for dtype in ("float64", "float32", "auto"):
            spec = ProbeSpec(model=model, seq_len=1000, batch_size=BATCH_LAB, dtype=dtype)
            wall, cpu, split, used = _median_probe(spec, repeats)
            times[dtype] = wall
            parts = ", ".join(f"{k} {v:.3f}" for k, v in split.items())
            print(
                f"  probe {layers} layer(s) {dtype:8s} {wall:7.3f} s wall, {cpu:7.3f} s cpu "
                f"({wall / goal:.2f} of goal; trace in {used}; {parts})",
                flush=True,
            )
        spec = ProbeSpec(model=model, seq_len=1000, batch_size=BATCH_LAB, dtype="float32")
        with _unscaled():
            wall, cpu, split, _ = _median_probe(spec, 1)
        print(
            f"  probe {layers} layer(s) float32 without rescaling (before) {wall:7.3f} s wall, "
            f"{cpu:7.3f} s cpu: rescaled is {wall / times['float32']:.1f}x faster",
            flush=True,
        )
        diagnose_wall = statistics.median(_diagnose_seconds(model) for _ in range(repeats))
        print(f"  diagnose of the float32 model {diagnose_wall:7.3f} s wall", flush=True)
        for dtype in ("float64", "float32"):
            api = statistics.median(_api_seconds(layers, dtype) for _ in range(repeats))
            print(
                f"  /api/probe (TestClient, batch {_api_batch(layers)}) {dtype} {api:7.3f} s "
                f"({api / layers:.2f} s per layer; goal 1 s per layer)",
                flush=True,
            )
    print(f"\nprobe cost against T (LSTM H=256, 1 layer, float32, own process each); {_load()}")
    for steps in [t for t in (1000, 10000, 100000) if t <= max_steps]:
        for batch in sorted({BATCH_LAB, long_batch} if steps >= 100000 else {BATCH_LAB}):
            print("  " + _sweep_point(steps, batch), flush=True)


def _load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def _diagnose_seconds(model: ModelSpec) -> float:
    """Wall seconds of diagnose() on the float32 model and batch a float32 probe builds."""
    from gradtrace.diagnosis import diagnose

    torch.manual_seed(0)
    net = build_model(model)
    x = torch.randn(BATCH_LAB, 1000, model.input_size)
    started = time.perf_counter()
    diagnose(net, x)
    return time.perf_counter() - started


def _api_batch(layers: int) -> int:
    """The lab's batch, or 32 where the lab's work bound refuses it (2 layers at H=256)."""
    from gradtrace.web.schemas import MAX_PROBE_WORK

    return BATCH_LAB if BATCH_LAB * 1000 * layers * 4 * 256**2 <= MAX_PROBE_WORK else 32


def _api_seconds(layers: int, dtype: str) -> float:
    """Wall seconds of POST /api/probe (FastAPI TestClient, the lab's own app) for the spec."""
    from fastapi.testclient import TestClient

    from gradtrace.web.app import create_app

    body = {"cell": "lstm", "hidden_size": 256, "num_layers": layers, "seq_len": 1000}
    body.update(dtype=dtype, batch_size=_api_batch(layers))
    with TestClient(create_app(), base_url="http://localhost") as client:
        started = time.perf_counter()
        response = client.post("/api/probe", json=body)
        seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds


_POINT = """
import resource, sys, time
from gradtrace.diagnosis import ProbeSpec, probe
from gradtrace.models import ModelSpec
spec = ProbeSpec(model=ModelSpec(cell="lstm", hidden_size=256), seq_len={steps},
                 batch_size={batch}, dtype="float32")
cpu = time.process_time()
result = probe(spec)
cpu = time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(result.seconds, cpu, peak, result.dtype)
"""


_WARM_PROBE = """
import statistics
from gradtrace.diagnosis import ProbeSpec, probe
from gradtrace.models import ModelSpec
spec = ProbeSpec(model=ModelSpec(cell="lstm", hidden_size=256), seq_len=1000,
                 batch_size={batch}, dtype="float32")
probe(spec)
print(statistics.median(probe(spec).seconds for _ in range(3)))
"""


def _sweep_point(steps: int, batch: int) -> str:
    """One T of the sweep in a fresh process (its own peak memory), or why it was skipped."""
    from gradtrace.resources import available_memory, format_bytes

    spec = ProbeSpec(model=ModelSpec(cell="lstm", hidden_size=256), seq_len=steps, batch_size=batch)
    need, have = spec.estimate().memory_bytes // 2, available_memory()  # float32: half
    if need > min(have, MEMORY_CAP):
        return (
            f"T={steps:>6} B={batch:>3}: skipped, needs ~{format_bytes(need)} "
            f"(available {format_bytes(have)}, cap {format_bytes(MEMORY_CAP)})"
        )
    code = _POINT.format(steps=steps, batch=batch)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        return f"T={steps:>6} B={batch:>3}: failed: {done.stderr.strip().splitlines()[-1]}"
    wall, cpu, peak, _ = done.stdout.split()
    per_step = float(wall) / steps * 1e3 * BATCH_LAB / batch
    return (
        f"T={steps:>6} B={batch:>3} {float(wall):8.2f} s wall {float(cpu):8.2f} s cpu   "
        f"{per_step:6.3f} ms per step (per 64 examples)   peak {format_bytes(int(peak))}"
    )


@contextlib.contextmanager
def _cores(parallel: bool):
    """diagnose with every job in turn (False) or with the side worker forced on (True)."""
    from gradtrace.diagnosis import diagnosing, overlap

    @contextlib.contextmanager
    def chosen(params):
        with overlap.side_worker(params, parallel=parallel) as side:
            yield side

    saved = diagnosing.side_worker
    diagnosing.side_worker = chosen
    try:
        yield
    finally:
        diagnosing.side_worker = saved


def _in_thread(spec: ProbeSpec) -> float:
    """Wall seconds of probe(spec) in a fresh worker thread (how the web lab's server runs it)."""
    import threading

    out: list[float] = []
    worker = threading.Thread(target=lambda: out.append(probe(spec).seconds))
    worker.start()
    worker.join()
    return out[0]


def two_cores(repeats: int) -> None:
    """One core against two (diagnosis/overlap.py), interleaved; and 4 KiB against huge pages.

    "one core" is diagnose with every job in turn; "two cores" forces the side worker (the
    default only in a worker thread, see diagnosis/overlap.py).
    """
    model = ModelSpec(cell="lstm", hidden_size=256)
    print(f"\ndiagnose on two cores: LSTM H=256 T=1000 float32, median of {repeats}; {_load()}")
    cases = [(64, "main thread", probe), (16, "main thread", probe)]
    cases.append((64, "worker thread (the web lab)", _in_thread))
    for batch, where, call in cases:
        spec = ProbeSpec(model=model, seq_len=1000, batch_size=batch, dtype="float32")
        one: list[float] = []
        two: list[float] = []
        for _ in range(repeats):
            for parallel, times in ((False, one), (True, two)):
                with _cores(parallel):
                    times.append(call(spec) if call is _in_thread else call(spec).seconds)
        a, b = statistics.median(one), statistics.median(two)
        print(
            f"  batch {batch:>2}, {where:27s} one core {a:6.3f} s, two cores {b:6.3f} s: "
            f"{a / b:.2f}x",
            flush=True,
        )
    code = _WARM_PROBE.format(batch=BATCH_LAB)
    pages: dict[str, list[float]] = {"4 KiB pages": [], "huge pages": []}
    for _ in range(repeats):
        for name in pages:
            env = dict(os.environ)
            env.pop("THP_MEM_ALLOC_ENABLE", None)
            if name == "huge pages":
                env["THP_MEM_ALLOC_ENABLE"] = "1"  # read by torch at its first allocation
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            )
            pages[name].append(float(done.stdout.split()[0]))
    small_pages, huge = (statistics.median(v) for v in pages.values())
    print(
        f"  huge pages (own process each, batch {BATCH_LAB}): 4 KiB pages {small_pages:6.3f} s, "
        f"huge pages {huge:6.3f} s: {small_pages / huge:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--max-steps", type=int, default=100000, help="largest T of the sweep")
    parser.add_argument("--long-batch", type=int, default=8, help="batch also tried at T=1e5")
    parser.add_argument("--skip-small", action="store_true", help="only the H=256 T=1000 part")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 3 if args.quick else 7
    if not args.skip_small:
        small(repeats)
    two_cores(3 if args.quick else 5)
    target(1 if args.quick else 3, args.max_steps, args.long_batch)


def small(repeats: int) -> None:
    """The web lab's heaviest default (H=128, T=200): probe per precision vs plain fwd+bwd."""
    model = ModelSpec(cell="lstm", hidden_size=HIDDEN)
    specs = {
        "probe float64": ProbeSpec(model=model, seq_len=STEPS, batch_size=BATCH, dtype="float64"),
        "probe float32": ProbeSpec(model=model, seq_len=STEPS, batch_size=BATCH, dtype="float32"),
    }
    probe(specs["probe float64"])  # warm-up: imports, allocator, kernels
    times: dict[str, list[float]] = {name: [] for name in [*specs, "plain fwd+bwd float64"]}
    cpu: dict[str, list[float]] = {name: [] for name in specs}
    splits: dict[str, list[dict[str, float]]] = {name: [] for name in specs}
    for _ in range(repeats):  # interleaved, so load changes hit every variant alike
        for name, spec in specs.items():
            started = time.process_time()
            result = probe(spec)
            cpu[name].append(time.process_time() - started)
            times[name].append(result.seconds)
            split = dict(result.diagnosis.timings)
            split["setup"] = result.seconds - sum(split.values())
            splits[name].append(split)
        times["plain fwd+bwd float64"].append(plain_step(torch.float64))
    floor = statistics.median(times["plain fwd+bwd float64"])
    print(
        f"LSTM H={HIDDEN} T={STEPS} batch={BATCH}, {torch.get_num_threads()} thread(s), "
        f"median of {repeats}"
    )
    for name, values in times.items():
        median = statistics.median(values)
        line = f"  {name:24s} {median:7.3f} s   {median / floor:5.1f}x plain fwd+bwd"
        if name in splits:
            parts = {k: statistics.median(s[k] for s in splits[name]) for k in splits[name][0]}
            line += f"   cpu {statistics.median(cpu[name]):.3f} s"
            line += "   (" + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()) + ")"
        print(line)
    ratio = statistics.median(times["probe float32"]) / statistics.median(times["probe float64"])
    print(f"  float32 / float64 probe time: {ratio:.2f}")


if __name__ == "__main__":
    main()
