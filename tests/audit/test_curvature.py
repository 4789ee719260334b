"""The local-minimum claim: Hessian eigenvalues by power iteration against the exact Hessian."""

from __future__ import annotations

import torch

from gradtrace.audit.curvature import curvature_verdict, extreme_eigenvalues


def test_power_iteration_finds_the_exact_extreme_eigenvalues():
    torch.manual_seed(0)
    a = torch.randn(6, 6, dtype=torch.float64)
    hessian = (a + a.T) / 2  # indefinite
    w = torch.zeros(6, dtype=torch.float64, requires_grad=True)

    def loss_fn():
        return 0.5 * w @ hessian @ w + (w**3).sum() * 0  # a quadratic (cubic term: zero)

    top, bottom = extreme_eigenvalues(loss_fn, [w], steps=300)
    exact = torch.linalg.eigvalsh(hessian)
    assert abs(top - exact[-1].item()) < 1e-5
    assert abs(bottom - exact[0].item()) < 1e-5


def test_the_verdict_reads_negative_curvature_as_a_plateau_not_a_minimum():
    base = {"T": 100, "steps": 10, "loss": 0.16, "baseline": 1 / 6, "grad_norm": 1e-3}
    assert curvature_verdict(
        {**base, "top_eigenvalue": 1.0, "bottom_eigenvalue": -0.1}
    ).verdict == ("refuted")
    assert curvature_verdict({**base, "top_eigenvalue": 1.0, "bottom_eigenvalue": 0.0}).verdict == (
        "confirmed"
    )
    solved = {**base, "loss": 0.001, "top_eigenvalue": 1.0, "bottom_eigenvalue": -1.0}
    assert curvature_verdict(solved).verdict == "nuanced"


def test_the_claim_measures_finite_curvature_on_a_short_run():
    from gradtrace.audit.budget import TINY
    from gradtrace.audit.context import Context
    from gradtrace.audit.curvature import stuck_in_local_minima

    finding = stuck_in_local_minima(Context(TINY))
    found = finding.evidence
    assert finding.verdict in ("confirmed", "refuted", "nuanced")
    assert found["top_eigenvalue"] >= found["bottom_eigenvalue"]
    assert found["grad_norm"] > 0 and found["loss"] > 0
