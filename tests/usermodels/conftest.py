"""Fixtures of the user-model tests: the zoo of re-created user models (zoo/ beside this file)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

NAME = "gradtrace_tests_zoo"  # registered in sys.modules so its models pickle like a user's


def _load() -> ModuleType:
    if NAME in sys.modules:
        return sys.modules[NAME]
    spec = importlib.util.spec_from_file_location(
        NAME, Path(__file__).with_name("zoo") / "__init__.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[NAME] = module
    spec.loader.exec_module(module)
    return module


ZOO = _load()
ENTRIES = {entry.name: entry for entry in ZOO.ZOO.entries}


@pytest.fixture(params=list(ENTRIES))
def entry(request):
    """Each re-created user model in turn."""
    return ENTRIES[request.param]
