"""Upper bounds on request sizes, shared by the library, the CLI, TOML files and the web lab."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bounds:
    """Largest sizes a request may ask for; a typo cannot allocate 100 GB without saying so."""

    hidden_size: int = 4096
    num_layers: int = 16
    seq_len: int = 100_000
    batch_size: int = 8192
    input_size: int = 65_536
    steps: int = 10_000_000


LIBRARY = Bounds()
WEB = Bounds(hidden_size=512, num_layers=4, seq_len=2000, batch_size=256, input_size=256, steps=0)
