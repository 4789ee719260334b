"""Benchmark `simulate matrix`: analytic Jacobian products against torch.autograd, side by side.

Three ways to get ||dh_T/dh_(T-k)||_2 for every lag k = 1..T of the same tanh recurrence:
  gram   the library: P_k = P_(k-1) diag(phi') W accumulated once, top eigenvalue of P P^T
  svd    the same accumulation with a full SVD per lag (np.linalg.norm(P, 2))
  brute  torch.autograd.functional.jacobian of h_T as a function of h_(T-k), one lag at a time,
         with whichever of vectorize=False (H backward passes) / vectorize=True (vmap) is
         faster here, probed once on one lag (vmap wins at H = 32, loses ~7x at H = 256)
The brute force costs ~k H^3 per lag, ~T^2 H^3 / 2 in all; at full size it is timed on four
lags (1, T/8, T/4, T/2), fitted as a + b k and extrapolated to all T lags (printed as such).
With --quick every lag is timed. Everything runs on one thread; medians of interleaved repeats.

    python benchmarks/bench_simulate_matrix.py            # H = 256, T = 1000
    python benchmarks/bench_simulate_matrix.py --quick    # H = 32, T = 100
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from gradtrace.simulate import matrix_recurrence
from gradtrace.simulate.matrix import MatrixParams
from gradtrace.simulate.recurrence import make_recurrence


def brute_force(
    params: MatrixParams, lags: list[int], *, vectorize: bool
) -> tuple[dict[int, float], dict[int, float]]:
    """Norms and seconds per lag from torch.autograd.functional.jacobian (float64)."""
    rec = make_recurrence(**params.__dict__)
    w, u, x, b = (torch.from_numpy(a) for a in (rec.weight, rec.input_weight, rec.inputs, rec.bias))
    steps = params.steps
    with torch.no_grad():
        states = [torch.zeros(params.hidden_size, dtype=torch.float64)]  # h_0 .. h_T
        for t in range(steps):
            states.append(torch.tanh(w @ states[-1] + u @ x[t] + b))
    norms, seconds = {}, {}
    for k in lags:

        def h_last(h: torch.Tensor, start: int = steps - k) -> torch.Tensor:
            for t in range(start, steps):
                h = torch.tanh(w @ h + u @ x[t] + b)
            return h

        begin = time.perf_counter()
        jacobian = torch.autograd.functional.jacobian(
            h_last, states[steps - k], vectorize=vectorize
        )
        norms[k] = float(torch.linalg.matrix_norm(jacobian, ord=2))
        seconds[k] = time.perf_counter() - begin
    return norms, seconds


def main() -> None:
    """Run the comparison and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="H = 32, T = 100, all lags")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    hidden, steps = (32, 100) if args.quick else (256, 1000)
    params = MatrixParams(
        hidden_size=hidden, rho=1.0, weights="gaussian", activation="tanh", steps=steps, seed=0
    )
    lags = list(range(1, steps + 1)) if args.quick else [1, steps // 8, steps // 4, steps // 2]
    times: dict[str, list[float]] = {"gram": [], "svd": []}
    brute: dict[int, list[float]] = {k: [] for k in lags}
    result, brute_norms = None, {}
    matrix_recurrence(hidden_size=8, steps=2)  # warm-up: imports scipy.linalg, threadpoolctl
    probe = [min(steps, 50)]

    def probe_seconds(vectorize: bool) -> float:  # best of 3: the first vmap call warms up
        return min(brute_force(params, probe, vectorize=vectorize)[1][probe[0]] for _ in "abc")

    vectorize = min((True, False), key=probe_seconds)
    for _ in range(args.repeats):  # interleaved: every variant once per round
        for method in ("gram", "svd"):
            begin = time.perf_counter()
            result = matrix_recurrence(method=method, **params.__dict__)
            times[method].append(time.perf_counter() - begin)
        brute_norms, seconds = brute_force(params, lags, vectorize=vectorize)
        for k, s in seconds.items():
            brute[k].append(s)
    assert result is not None
    gram, svd = statistics.median(times["gram"]), statistics.median(times["svd"])
    per_lag = {k: statistics.median(v) for k, v in brute.items()}
    if args.quick:
        brute_total, how = sum(per_lag.values()), f"all {steps} lags timed"
    else:
        b, a = np.polyfit(list(per_lag), list(per_lag.values()), 1)  # seconds = a + b k
        brute_total = steps * a + b * steps * (steps + 1) / 2
        how = (
            f"timed lags {lags}, fitted a + b k (a = {a:.3g} s, b = {b:.3g} s/lag), "
            f"EXTRAPOLATED to all {steps} lags"
        )
    difference = max(
        abs(result.norms[k - 1] - brute_norms[k]) / brute_norms[k] for k in brute_norms
    )
    print(
        f"simulate matrix: H = {hidden}, T = {steps}, tanh, gaussian W, rho = 1, one thread, "
        f"median of {args.repeats} interleaved repeats"
    )
    print(f"  library (gram + one eigenvalue per lag): {gram:9.2f} s")
    print(
        f"  same with a full SVD per lag:            {svd:9.2f} s   -> gram is "
        f"{svd / gram:.1f}x faster"
    )
    print(
        f"  brute force, autograd jacobian per lag:  {brute_total:9.2f} s   "
        f"(vectorize={vectorize}; {how})"
    )
    print(f"  brute force / library: {brute_total / gram:.0f}x")
    print(f"  largest relative difference at the timed lags: {difference:.1e}")


if __name__ == "__main__":
    main()
