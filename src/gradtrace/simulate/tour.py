"""The guided tour: the four simulations with classic settings, each with its figure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtrace.simulate import plots
from gradtrace.simulate.decay import SEED_FACTORS, SEED_STEPS, decay_table
from gradtrace.simulate.layers import layer_gradients
from gradtrace.simulate.matrix import matrix_recurrence
from gradtrace.simulate.saturation import activation_report


@dataclass(frozen=True)
class TourPart:
    """One part of the tour: what it shows, what to notice, its records and its figure."""

    name: str
    title: str
    notice: str
    records: tuple[Any, ...]
    plot: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict: the records' own dicts under "records"."""
        return {
            "name": self.name,
            "title": self.title,
            "notice": self.notice,
            "plot": str(self.plot),
            "records": [record.to_dict() for record in self.records],
        }


@dataclass(frozen=True)
class _Step:
    name: str
    title: str
    notice: str
    compute: Callable[[], tuple[Any, ...]]
    draw: Callable[..., Path]


def _matrix_runs() -> tuple[Any, ...]:
    return tuple(
        matrix_recurrence(
            hidden_size=64, rho=rho, weights="orthogonal", activation="tanh", steps=200, seed=0
        )
        for rho in (0.9, 1.5, 3.0)
    )


STEPS: tuple[_Step, ...] = (
    _Step(
        "decay",
        "1. Decay factors: a per-step factor gamma leaves gamma^k after k steps",
        "Notice how fast it goes: at gamma = 0.5 less than a thousandth is left after 10 "
        "steps, and at gamma = 0.3 only 7e-27 after 50.",
        lambda: (decay_table(SEED_FACTORS, SEED_STEPS, until=1e-3),),
        lambda records, path: plots.plot_decay(records[0], path),
    ),
    _Step(
        "layers",
        "2. Five layers: the gradient at layer i is proportional to w^(5-i)",
        "Notice that halving or doubling w changes layer 1's gradient 16-fold over five "
        "layers; the effect compounds with depth.",
        lambda: (layer_gradients(0.5), layer_gradients(1.0), layer_gradients(2.0)),
        lambda records, path: plots.plot_layers(records, path),
    ),
    _Step(
        "activations",
        "3. Activation slopes: sigmoid' <= 1/4, tanh' <= 1, relu' is 0 or 1",
        "Notice the E[phi'] columns: the wider the pre-activations, the flatter sigmoid and "
        "tanh get (saturation), so every step multiplies the gradient by less.",
        lambda: (activation_report(),),
        lambda records, path: plots.plot_activations(records[0], path),
    ),
    _Step(
        "matrix",
        "4. A real tanh recurrence: norms of the Jacobian product dh_T/dh_(T-k), 64 units",
        "Notice that rho = 1.5 still vanishes: rho > 1 only makes exploding possible, because "
        "saturation pulls the average slope down; at rho = 3 it does explode.",
        _matrix_runs,
        lambda records, path: plots.plot_matrix(records, path),
    ),
)


def run_tour(out_dir: str | Path) -> Iterator[TourPart]:
    """Run the four parts one after the other, writing ``out_dir/<name>.png`` for each."""
    folder = Path(out_dir)
    for step in STEPS:
        records = step.compute()
        plot = step.draw(records, folder / f"{step.name}.png")
        yield TourPart(step.name, step.title, step.notice, records, plot)
