"""The claims audit: every factual claim of the seed documents as a check with a verdict.

Each claim is a function ``check(ctx) -> Finding`` decorated with ``@claim(...)`` (id, seed
files, our paraphrase, method) and listed once in ``registry.CHECKS``. ``run_audit`` trains the
runs the training claims read (through the study store, reusing finished runs), checks every
selected claim and stores the ``ClaimResult`` records beside the study results.
"""

from __future__ import annotations

from gradtrace._lazy import lazy_getattr

_EXPORTS: dict[str, str] = {
    "Claim": "gradtrace.audit.claim",
    "ClaimResult": "gradtrace.audit.claim",
    "Finding": "gradtrace.audit.claim",
    "RunRequest": "gradtrace.audit.claim",
    "VERDICTS": "gradtrace.audit.claim",
    "claim": "gradtrace.audit.claim",
    "Budget": "gradtrace.audit.budget",
    "BUDGETS": "gradtrace.audit.budget",
    "get_budget": "gradtrace.audit.budget",
    "Context": "gradtrace.audit.context",
    "CLAIMS": "gradtrace.audit.registry",
    "select": "gradtrace.audit.registry",
    "AuditReport": "gradtrace.audit.runner",
    "run_audit": "gradtrace.audit.runner",
    "load_results": "gradtrace.audit.runner",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
