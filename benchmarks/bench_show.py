"""Benchmark the report and the web lab against their budgets, variants side by side.

1. A simulator update in Chromium (performance.now() around the page's update function, median
   over slider moves): full update vs the arithmetic alone, time vs layer mode. Budget 50 ms.
2. A probe of an LSTM H=128, T=200 through /api/probe on a real server (float64 and float32)
   vs the library's probe() called directly. Budget 1 s.
3. The report of a study folder (a real one given with --study, else a synthetic quick-size
   study): HTML only vs HTML + PNGs. Budget 5 s.

Usage: python benchmarks/bench_show.py [--quick] [--study DIR] [--parts simulator,probe,report]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def start_server(data_dir: Path) -> tuple[str, object]:
    """A uvicorn server in a thread on a free port; returns (base URL, server)."""
    import uvicorn

    from gradtrace.web.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(data_dir), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server


SIM_JS = """([mode, moves]) => {
  simSetMode(mode);
  const slider = document.getElementById('factor');
  const full = [], math = [];
  for (let i = 0; i < moves; i++) {
    slider.value = String(0.3 + (i % 60) * 0.01);
    let t = performance.now();
    simUpdate();
    full.push(performance.now() - t);
    const f = Number(slider.value), n = Number(document.getElementById('steps').value);
    t = performance.now();  // the arithmetic is too quick for the timer: average 100 runs
    for (let j = 0; j < 100; j++) {
      if (mode === 'time') GTSim.decayCurve(f, n); else GTSim.layerGradients(f, n, 10);
    }
    math.push((performance.now() - t) / 100);
  }
  const med = a => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return {full: med(full), math: med(math)};
}"""


def bench_simulator(base: str, moves: int) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "/simulator")
        page.evaluate(SIM_JS, ["time", 10])  # warm up Plotly
        results = {}
        for _ in range(3):  # interleave the modes
            for mode in ("time", "layers"):
                r = page.evaluate(SIM_JS, [mode, moves])
                results.setdefault(mode, []).append(r)
        browser.close()
    print("simulator update in Chromium (median over slider moves; budget 50 ms)")
    for mode, runs in results.items():
        full = statistics.median(r["full"] for r in runs)
        math = statistics.median(r["math"] for r in runs)
        print(
            f"  {mode:6s}: full update {full:6.2f} ms = {full / 50:.2f} x budget;"
            f" arithmetic alone {math:.4f} ms ({100 * math / max(full, 1e-9):.2f}% of it)"
        )


def post(url: str, payload: dict) -> tuple[float, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    return time.perf_counter() - start, body


def bench_probe(base: str, repeats: int) -> None:
    from gradtrace.web.routes_probe import probe_spec
    from gradtrace.web.schemas import ProbeRequest

    request = {"cell": "lstm", "hidden_size": 128, "seq_len": 200, "batch_size": 16}
    variants = {
        "API float64": lambda: post(base + "/api/probe", request)[0],
        "API float32": lambda: post(base + "/api/probe", {**request, "dtype": "float32"})[0],
        "library probe() float64": lambda: _direct(probe_spec(ProbeRequest(**request))),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():  # warm up
        run()
    for _ in range(repeats):
        for name, run in variants.items():
            times[name].append(run())
    print("probe of an LSTM H=128, T=200, batch 16 (median; budget 1 s)")
    reference = statistics.median(times["library probe() float64"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:24s}: {med:6.3f} s = {med:.2f} x budget, {med / reference:.2f} x library")


def _direct(spec) -> float:
    from gradtrace.diagnosis import probe

    start = time.perf_counter()
    probe(spec)
    return time.perf_counter() - start


def bench_report(study: Path, repeats: int) -> None:
    from gradtrace.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        variants = {
            "HTML": lambda: write_report(study, out=out / "r.html"),
            "HTML + PNGs": lambda: write_report(study, out=out / "r.html", png_dir=out / "png"),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for run in variants.values():
            run()  # warm up imports
        for _ in range(repeats):
            for name, run in variants.items():
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        size = (out / "r.html").stat().st_size / 1e6
        pngs = len(list((out / "png").glob("*.png")))
    print(f"report of {study} ({size:.1f} MB HTML, {pngs} figures; median; budget 5 s)")
    html = statistics.median(times["HTML"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:12s}: {med:6.3f} s = {med / 5:.2f} x budget, {med / html:.2f} x HTML only")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--study", type=Path, default=None, help="a real study folder")
    parser.add_argument(
        "--parts", default="simulator,probe,report", help="comma-separated subset to run"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    import torch

    torch.set_num_threads(1)
    moves, repeats = (30, 2) if args.quick else (120, 5)
    with tempfile.TemporaryDirectory() as tmp:
        from gradtrace.report.sample import write_samples

        data = write_samples(Path(tmp))
        base, server = start_server(data)
        if "simulator" in parts:
            bench_simulator(base, moves)
        if "probe" in parts:
            bench_probe(base, repeats)
        if "report" in parts:
            bench_report(args.study or data / "study", repeats)
        server.should_exit = True


if __name__ == "__main__":
    main()
