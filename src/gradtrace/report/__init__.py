"""Figures and the self-contained HTML report of gradtrace results (study, audit, probe, log)."""

from __future__ import annotations

from gradtrace._lazy import lazy_getattr

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
