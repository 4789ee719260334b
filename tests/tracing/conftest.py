"""Fixtures of the tracing tests: the brute-force float64 reference (trace_reference.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


def _load_reference() -> ModuleType:
    # tests run with --import-mode=importlib: helpers beside them are loaded by path
    path = Path(__file__).with_name("trace_reference.py")
    spec = importlib.util.spec_from_file_location("gradtrace_tests_trace_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_REFERENCE = _load_reference()


@pytest.fixture
def ref() -> ModuleType:
    """The brute-force reference: run_fused, cell_step, weights, step_norms, padded, loss_of."""
    return _REFERENCE
