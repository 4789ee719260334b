"""The recurrent model zoo: ModelSpec -> nn.Module, gradtrace cells and model introspection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradtrace._lazy import attach

# The public API, one line per name: type checkers read these imports, and at run time `attach`
# reads the same lines and imports each name on first use (so importing one part stays light).
if TYPE_CHECKING:
    from gradtrace.models.cells import GRUCell as GRUCell
    from gradtrace.models.cells import LSTMCell as LSTMCell
    from gradtrace.models.cells import RNNCell as RNNCell
    from gradtrace.models.cells import make_cell as make_cell
    from gradtrace.models.introspect import RecurrentMatrix as RecurrentMatrix
    from gradtrace.models.introspect import RecurrentModule as RecurrentModule
    from gradtrace.models.introspect import recurrent_matrices as recurrent_matrices
    from gradtrace.models.introspect import recurrent_modules as recurrent_modules
    from gradtrace.models.net import RecurrentNet as RecurrentNet
    from gradtrace.models.net import build_model as build_model
    from gradtrace.models.net import run_cell as run_cell
    from gradtrace.models.net import run_fused as run_fused
    from gradtrace.models.spec import ModelSpec as ModelSpec
else:
    __getattr__, __dir__, __all__ = attach(__name__, __file__)
