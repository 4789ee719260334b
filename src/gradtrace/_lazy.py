"""Lazy package exports: a name is imported from its module on first use, keeping imports light.

A package lists its public API once, as ``from module import name as name`` lines inside
``if TYPE_CHECKING:``. Type checkers read those lines and see the real types; at run time
:func:`attach` reads the same lines from the package's source and imports each name on first
use. Adding a public name is therefore one line; ``from gradtrace import init as init`` (the
package itself as the module) exports a submodule.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def exports_of(source: str | Path) -> dict[str, tuple[str, str]]:
    """``{public name: (module, name in module)}`` from the ``if TYPE_CHECKING:`` imports."""
    tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    exports: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for item in node.body:
            if isinstance(item, ast.ImportFrom) and item.module and not item.level:
                for alias in item.names:
                    exports[alias.asname or alias.name] = (item.module, alias.name)
    return exports


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def attach(
    package: str, source: str | Path, *, extra: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` from its TYPE_CHECKING imports.

    ``extra`` names defined in the package itself (``__version__``) that belong in ``__all__``.
    """
    exports = exports_of(source)

    def __getattr__(name: str) -> Any:
        """Import a public name of this package on first use (see ``__all__``)."""
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = target
        if module == package:  # a submodule: `from gradtrace import init as init`
            value = importlib.import_module(f"{package}.{attribute}")
        else:
            value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)  # the next lookup skips __getattr__
        return value

    def __dir__() -> list[str]:
        """This package's public names (imported or not yet), its loaded submodules and its
        dunders: what tab completion should offer, without the helpers the package imports
        for itself (``TYPE_CHECKING``, ``logging``, ``attach``)."""
        own = {
            name
            for name, value in vars(sys.modules[package]).items()
            if name.startswith("__")
            or (isinstance(value, ModuleType) and value.__name__.startswith(f"{package}."))
        }
        return sorted(own | set(exports) | set(extra))

    return __getattr__, __dir__, [*extra, *exports]


def lazy_getattr(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports ``exports[name]`` and returns its ``name``
    (or the submodule itself when ``exports[name]`` is ``<package>.<name>``)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        if module == f"{package}.{name}":
            return importlib.import_module(module)
        return getattr(importlib.import_module(module), name)

    return __getattr__
