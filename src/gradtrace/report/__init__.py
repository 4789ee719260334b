"""Figures and the self-contained HTML report of gradtrace results (study, audit, probe, log)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "write_report": "gradtrace.report.writer",
    "after_study": "gradtrace.report.writer",
    "after_audit": "gradtrace.report.writer",
    "load_document": "gradtrace.report.sources",
    "profile_figure": "gradtrace.report.figures",
    "timeline_figure": "gradtrace.report.figures",
    "loss_figure": "gradtrace.report.figures",
    "spectrum_figure": "gradtrace.report.figures",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gradtrace.report' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
