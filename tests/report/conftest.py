"""Synthetic results in gradtrace's own formats, written once per test session."""

from __future__ import annotations

import pytest

from gradtrace.report.sample import write_samples


@pytest.fixture(scope="session")
def samples(tmp_path_factory):
    """A data folder with study/, probe.json and monitor.jsonl."""
    return write_samples(tmp_path_factory.mktemp("samples"))
