"""Warnings that point at the user's line: the first frame outside gradtrace, torch, Lightning."""

from __future__ import annotations

import sys
from pathlib import Path


def _internal_dirs() -> tuple[str, ...]:
    files = [__file__]
    for name in ("torch", "lightning", "pytorch_lightning"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            files.append(module.__file__)
    dirs = {str(Path(f).parent) for f in files} | {str(Path(f).resolve().parent) for f in files}
    return tuple(d + "/" for d in dirs)


def user_stacklevel() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` called by the caller of this function that
    names the first frame outside gradtrace, torch and Lightning (the user's own line)."""
    internal = _internal_dirs()
    frame = sys._getframe(1)  # the frame that calls warnings.warn (stacklevel 1)
    level = 1
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(internal) or name.startswith(("<frozen", "<string>"))):
            return level
        frame = frame.f_back
        level += 1
    return 1
