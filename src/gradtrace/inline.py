"""Figures in notebooks: shown inline exactly once, with a static image for exported notebooks.

- :func:`new_figure` makes a matplotlib Figure (Agg, no pyplot state) that IPython shows once:
  ``profile.plot()`` and ``fig = profile.plot()`` both show it one time, because
  :func:`show_once` displays it when it is drawn and the figure's ``_ipython_display_`` skips a
  figure already shown. Outside IPython nothing is displayed.
- :class:`NotebookFigure` is a Plotly figure whose notebook output carries a PNG drawn by the
  matplotlib path next to the interactive Plotly data: JupyterLab and VS Code show the
  interactive chart, exported notebooks (HTML, PDF, GitHub) show the picture instead of a blank.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from gradtrace.report.spec import FigureSpec

NOTEBOOK_DPI = 110  # on screen; files are written at >= 200 dpi (gradtrace.report.render_png)


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython is never imported here just to ask)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def png_bytes(figure: Figure, dpi: int = NOTEBOOK_DPI) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class InlineFigure(Figure):
    """A matplotlib Figure that a notebook shows once, however it is returned or assigned."""

    _gradtrace_shown = False

    def _ipython_display_(self) -> None:
        if self._gradtrace_shown:
            return
        from IPython.display import display

        self._gradtrace_shown = True
        png = base64.b64encode(png_bytes(self)).decode("ascii")
        display({"image/png": png, "text/plain": repr(self)}, raw=True)


def new_figure(**kwargs: Any) -> InlineFigure:
    """A new InlineFigure (constrained layout unless told otherwise)."""
    kwargs.setdefault("layout", "constrained")
    return InlineFigure(**kwargs)


def show_once(figure: Figure) -> Figure:
    """In a notebook, show ``figure`` now (an InlineFigure then skips its repeat); return it."""
    if isinstance(figure, InlineFigure) and _in_notebook():
        figure._ipython_display_()
    return figure


def _plotly_class() -> type:
    import plotly.graph_objects as go

    return go.Figure


def notebook_figure(spec: FigureSpec) -> Any:
    """The Plotly figure of ``spec`` as a NotebookFigure (a go.Figure with a PNG fallback)."""
    from gradtrace.report.render_plotly import to_plotly

    figure = NotebookFigure(to_plotly(spec))
    figure._gradtrace_spec = spec
    return figure


class NotebookFigure(_plotly_class()):  # type: ignore[misc]  # plotly.graph_objects.Figure
    """A Plotly Figure whose notebook output adds a static PNG (drawn with matplotlib)."""

    _gradtrace_spec: FigureSpec | None = None

    def _ipython_display_(self) -> None:  # plotly's own would publish the Plotly data only
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        bundle = {
            "application/vnd.plotly.v1+json": json.loads(self.to_json()),
            "text/plain": f"<plotly figure: {self.layout.title.text or 'untitled'}>",
        }
        if self._gradtrace_spec is not None:
            from gradtrace.report.render_png import to_png

            buffer = io.BytesIO()
            to_png(self._gradtrace_spec, buffer, dpi=NOTEBOOK_DPI)
            bundle["image/png"] = base64.b64encode(buffer.getvalue()).decode("ascii")
        return bundle
