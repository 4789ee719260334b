"""The recurrent model zoo: ModelSpec -> nn.Module, gradtrace cells and model introspection."""

from __future__ import annotations

from gradtrace._lazy import lazy_getattr

# public name -> module that defines it; imported on first use so that `gradtrace.models.introspect`
# stays importable on its own (gradtrace.init depends on it, and build_model depends on init).
_EXPORTS: dict[str, str] = {
    "ModelSpec": "gradtrace.models.spec",
    "build_model": "gradtrace.models.net",
    "RecurrentNet": "gradtrace.models.net",
    "RNNCell": "gradtrace.models.cells",
    "LSTMCell": "gradtrace.models.cells",
    "GRUCell": "gradtrace.models.cells",
    "make_cell": "gradtrace.models.cells",
    "run_cell": "gradtrace.models.net",
    "run_fused": "gradtrace.models.net",
    "recurrent_modules": "gradtrace.models.introspect",
    "recurrent_matrices": "gradtrace.models.introspect",
    "RecurrentModule": "gradtrace.models.introspect",
    "RecurrentMatrix": "gradtrace.models.introspect",
}

__all__ = list(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
