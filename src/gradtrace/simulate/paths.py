"""Checks that an output path can be written, made before any computing starts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gradtrace.errors import InvalidValue

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def _nearest_existing(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _writable_folder(name: str, shown: str, folder: Path) -> None:
    # a real write test: permission bits say nothing for root or on read-only file systems
    if not folder.is_dir():
        raise InvalidValue(name, shown, f"{folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise InvalidValue(name, shown, f"folder {folder} is not writable") from e


def check_figure_path(path: str | Path | None, *, name: str = "path") -> Path | None:
    """None, or a .png/.svg/.pdf file path that can be written (missing folders are fine)."""
    if path is None:
        return None
    target, shown = Path(path), str(path)
    if target.suffix.lower() not in FIGURE_SUFFIXES:
        raise InvalidValue(name, shown, "must be a file name ending in .png, .svg or .pdf")
    if target.is_dir():
        raise InvalidValue(name, shown, "it is a folder; give a file name ending in .png")
    if target.exists() and not os.access(target, os.W_OK):
        raise InvalidValue(name, shown, "the file is not writable")
    _writable_folder(name, shown, _nearest_existing(target.parent))
    return target


def check_folder(path: str | Path, *, name: str = "path") -> Path:
    """A folder path that exists or can be created, and can be written."""
    target, shown = Path(path), str(path)
    if target.exists() and not target.is_dir():
        raise InvalidValue(name, shown, "it is a file; give a folder")
    _writable_folder(name, shown, _nearest_existing(target))
    return target
