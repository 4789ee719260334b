"""Shared test settings: a headless matplotlib backend and seeded, single-threaded torch."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Every test starts from the same seed with one intra-op thread (deterministic on CPU)."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
