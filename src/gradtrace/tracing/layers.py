"""From what one traced pass recorded to LayerProfiles: fused calls, decoders, cells and marks.

A fused module called k times in a pass yields ``<path>.l0``, ``<path>.l0#2``, ... unless every
call ran one step (a decoder called once per step): then its calls form one layer, one step per
call. Cells yield one step per call; marks and marked sequences follow the modules.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradtrace.models.introspect import RecurrentModule
from gradtrace.tracing.profile import LayerProfile


def _steps(records: dict, which: str) -> dict:
    found = {}
    for key, norms in records.items():
        if norms.filled and (which == "h" or norms.c is not None):
            found[key] = norms.per_step(which).detach().double().cpu().numpy()
    return found


def _fused_layers(entry: RecurrentModule, calls: list[dict]) -> list[LayerProfile]:
    prefix = entry.path or entry.kind
    reached = [c for c in calls if any(norms.filled for norms in c.values())]
    one_step = len(reached) > 1 and all(
        norms.plan.steps == 1 for call in reached for norms in call.values()
    )
    if one_step:  # a module called once per step (a decoder): one layer over the calls
        merged: dict = {}
        for call in reached:
            for key in call:
                merged.setdefault(key, None)
        layers = []
        for layer, direction in sorted(merged):
            g = [_one(call.get((layer, direction)), "h") for call in reached]
            g_c = [_one(call.get((layer, direction)), "c") for call in reached]
            name = f"{prefix}.l{layer}" + (".reverse" if direction else "")
            cell = None if all(v is None for v in g_c) else np.array([v or 0.0 for v in g_c])
            layers.append(LayerProfile(name, entry.kind, layer, direction, np.array(g), cell))
        return layers
    layers = []
    for call, records in enumerate(reached):  # calls no backward reached are left out
        g_h, g_c = _steps(records, "h"), _steps(records, "c")
        for layer, direction in sorted(g_h):
            name = f"{prefix}.l{layer}" + (".reverse" if direction else "")
            name += f"#{call + 1}" if call else ""
            g_cell = g_c.get((layer, direction))
            layers.append(
                LayerProfile(name, entry.kind, layer, direction, g_h[(layer, direction)], g_cell)
            )
    return layers


def _one(norms: Any, which: str) -> float | None:
    if norms is None or not norms.filled:
        return 0.0 if which == "h" else None
    if which == "c" and norms.c is None:
        return None
    return float(norms.per_step(which)[0])


def layer_profiles(modules: list[RecurrentModule], record: Any) -> list[LayerProfile]:
    """The LayerProfile of every module, mark and sequence a pass recorded, in model order."""
    layers = []
    for entry in modules:
        if entry.is_cell:
            steps = record.cells.get(id(entry.module))
            if steps is not None and steps.filled:
                name = entry.path or "cell"
                layers.append(
                    LayerProfile(name, entry.kind, 0, 0, steps.per_step("h"), steps.per_step("c"))
                )
            continue
        layers += _fused_layers(entry, record.calls.get(id(entry.module), []))
    for name, steps in record.marks.items():
        if steps.filled:
            layers.append(LayerProfile(name, "marked", 0, 0, steps.per_step("h"), None))
    for name, sequence in record.sequences.items():
        if sequence.filled:
            layers.append(LayerProfile(name, "marked", 0, 0, sequence.per_step(), None))
    return layers
