"""Figures and the self-contained HTML report of gradtrace results (study, audit, probe, log)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradtrace._lazy import attach

# The public API, one line per name: type checkers read these imports, and at run time `attach`
# reads the same lines and imports each name on first use (so importing one part stays light).
if TYPE_CHECKING:
    from gradtrace.report.figures import loss_figure as loss_figure
    from gradtrace.report.figures import profile_figure as profile_figure
    from gradtrace.report.figures import spectrum_figure as spectrum_figure
    from gradtrace.report.figures import timeline_figure as timeline_figure
    from gradtrace.report.sources import load_document as load_document
    from gradtrace.report.writer import after_audit as after_audit
    from gradtrace.report.writer import after_study as after_study
    from gradtrace.report.writer import write_report as write_report
else:
    __getattr__, __dir__, __all__ = attach(__name__, __file__)
