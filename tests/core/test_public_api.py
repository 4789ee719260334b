"""The public API is discoverable: __all__, dir(), help() and lazy imports agree."""

from __future__ import annotations

import importlib
import inspect
import pydoc
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gradtrace
from gradtrace._lazy import exports_of

PACKAGES = [
    "gradtrace",
    "gradtrace.diagnosis",
    "gradtrace.models",
    "gradtrace.report",
    "gradtrace.simulate",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_type_checking_import_is_exported_and_resolves_to_its_module(name):
    package = importlib.import_module(name)
    exports = exports_of(package.__file__)
    assert exports, "the TYPE_CHECKING block lists the public API"
    assert set(exports) <= set(package.__all__)
    listed = dir(package)
    for public, (module, attribute) in exports.items():
        assert public in listed
        assert getattr(package, public) is getattr(importlib.import_module(module), attribute)


def test_dir_lists_trace_and_unknown_names_raise_attribute_error():
    assert {"trace", "Monitor", "diagnose", "GradientProfile", "__version__"} <= set(dir(gradtrace))
    public = [name for name in dir(gradtrace) if not name.startswith("_")]
    assert not {"TYPE_CHECKING", "annotations", "logging", "attach"} & set(public)
    modules = {name for name in public if inspect.ismodule(getattr(gradtrace, name))}
    assert set(public) - modules <= set(gradtrace.__all__)
    assert all(getattr(gradtrace, m).__name__ == f"gradtrace.{m}" for m in modules)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = gradtrace.no_such_name


def test_help_shows_the_public_functions_and_classes():
    text = pydoc.render_doc(gradtrace, renderer=pydoc.plaintext)
    for piece in ("trace(model", "diagnose(model", "class Monitor", "class GradientProfile"):
        assert piece in text


def test_import_gradtrace_stays_light():
    code = "import sys, gradtrace; print('torch' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_readme_images_are_files_that_the_sdist_ships():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    images = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert images, "the README shows at least one figure"
    manifest = (root / "MANIFEST.in").read_text(encoding="utf-8")
    for image in images:
        assert (root / image).is_file(), image
        assert image.startswith("docs/") and "recursive-include docs" in manifest
        assert image.endswith(".png")  # PNG renders everywhere a long description is shown


def test_a_submodule_can_be_exported_with_one_line(tmp_path, monkeypatch):
    package = tmp_path / "lazypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from gradtrace._lazy import attach\n"
        "if TYPE_CHECKING:\n"
        "    from lazypkg import part as part\n"
        "    from lazypkg.part import VALUE as VALUE\n"
        "else:\n"
        "    __getattr__, __dir__, __all__ = attach(__name__, __file__)\n"
    )
    (package / "part.py").write_text("VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lazypkg = importlib.import_module("lazypkg")
    assert lazypkg.__all__ == ["part", "VALUE"] and "part" not in vars(lazypkg)
    assert lazypkg.VALUE == 42 and lazypkg.part.VALUE == 42
    monkeypatch.delitem(sys.modules, "lazypkg")
    monkeypatch.delitem(sys.modules, "lazypkg.part")
