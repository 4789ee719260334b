"""The losses diagnose() can use without being told: one late loss term, read off the modules.

``LastStates`` keeps the final hidden state of the recurrent module called last in a forward
pass, from the modules' own outputs (batch_first, packing), so the time and batch axes never
come from guessing the shape of the model's output. ``call_model`` runs a model on a batch as
the batch's type says; ``default_loss`` is the older output-based loss, kept for callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from gradtrace.errors import InvalidValue, UnsupportedModel
from gradtrace.models.introspect import RecurrentModule


def default_loss(output: Any, model: nn.Module) -> torch.Tensor:
    """The old output-based loss, kept for callers: the last step of a (B, T, O) output.

    diagnose() no longer uses it: its default loss reads the recurrent modules' own final
    states (see ``LastStates``), so the time and batch axes never come from the output's shape.
    """
    out = output[0] if isinstance(output, tuple | list) else output
    if not isinstance(out, torch.Tensor):
        raise InvalidValue("output", type(out).__name__, "a tensor (or a tuple led by one)")
    if out.dim() == 3:
        time_major = isinstance(model, nn.RNNBase) and not model.batch_first
        out = out[-1] if time_major else out[:, -1]
    batch = out.shape[0] if out.dim() >= 1 else 1
    return out.sum() / batch


class LastStates:
    """Keeps the final hidden state of the recurrent module called last in a forward pass.

    Fused modules give h_n of their top layer (every direction; packed sequences: each
    example's own last step); cells give the state of their last call. Read off the modules'
    own outputs, so the time and batch axes are the modules' (batch_first, packing), never a
    guess from the model's output.
    """

    def __init__(self, entries: list[RecurrentModule]) -> None:
        self.entries = entries
        self.state: torch.Tensor | None = None
        self.batch = 1
        self.where = ""
        self._handles: list[Any] = []

    def __enter__(self) -> LastStates:
        for entry in self.entries:
            self._handles.append(entry.module.register_forward_hook(self._hook(entry)))
        return self

    def __exit__(self, *exc: object) -> None:
        while self._handles:
            self._handles.pop().remove()

    def _hook(self, entry: RecurrentModule) -> Callable:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if entry.is_cell:
                h, _ = entry.select(output)
                if h is None:
                    return
                self.state, self.batch = h, int(h.shape[0]) if h.dim() >= 2 else 1
            else:
                h_n = output[1][0] if isinstance(output[1], tuple) else output[1]
                directions = 2 if module.bidirectional else 1
                self.state = h_n[-directions:]  # (D, B, P) or (D, P) unbatched
                self.batch = int(h_n.shape[1]) if h_n.dim() == 3 else 1
            self.where = entry.path or type(module).__name__

        return hook

    def loss(self, output: Any = None, tracer: Any = None) -> torch.Tensor:
        """Sum of the final state over units, averaged over the batch.

        Without a recurrent module: the last state given to ``gradtrace.mark``; failing that
        (a scan marked with ``mark_sequence``), the model's output, summed and averaged over
        its first dimension; ``describe`` says which.
        """
        marked = getattr(tracer, "last_marked", None)
        if self.state is None and marked is not None:
            self.state, self.where = marked, "the last state given to gradtrace.mark"
            self.batch = int(marked.shape[0]) if marked.dim() >= 2 else 1
        if self.state is None:
            out = output[0] if isinstance(output, tuple | list) and output else output
            if not isinstance(out, torch.Tensor):
                raise UnsupportedModel(
                    "diagnose: no recurrent module returned a state and the output is not a "
                    "tensor; pass loss_fn=... or declare the cell (gradtrace.recurrent_cell)"
                )
            self.fallback = True
            return out.sum() / (out.shape[0] if out.dim() else 1)
        return self.state.sum() / self.batch

    fallback = False

    def describe(self) -> str:
        """Which loss this is, in words."""
        if self.fallback:
            return (
                "default: the model's output summed and averaged over its first dimension (no "
                "recurrent module or gradtrace.mark state was found to read a final state from)"
            )
        return (
            f"default: the final hidden state of {self.where} (its last step, read from the "
            "module itself), summed over units and averaged over the batch"
        )


def call_model(model: nn.Module, batch: Any, forward: Callable | None) -> Callable[[], Any]:
    """How to run the model on the batch: forward(model, batch), or by the batch's type."""
    if forward is not None:
        return lambda: forward(model, batch)
    if isinstance(batch, dict):
        return lambda: model(**batch)
    if isinstance(batch, tuple | list):
        return lambda: model(*batch)
    return lambda: model(batch)


def first_run(run: Callable[[], Any], model: nn.Module, entries: list) -> Any:
    """Run the model; without any recurrent module a failure is reported as unsupported."""
    if entries:
        return run()
    try:
        return run()
    except Exception as e:
        from gradtrace.tracing.tracer import no_layers_message  # tracing imports diagnosis lazily

        raise UnsupportedModel(
            no_layers_message(model).replace("trace:", "diagnose:", 1)
            + f" (and its forward failed: {type(e).__name__}: {e})"
        ) from e
