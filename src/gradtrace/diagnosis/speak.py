"""Advice in the user's own terms: calls on their modules for models gradtrace did not build.

The rules in ``advice`` find what is wrong and phrase the remedy for gradtrace's own models
(ModelSpec fields such as ``init='chrono'``). ``speak`` rewrites each remedy for any other
model as a call a user can paste, naming their module (``gradtrace.init.forget_bias_(
model.encoder, 1.0)``), and says what their loop already does (a loop that clips hears its
clip rate instead of being told to clip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gradtrace.diagnosis.advice import Recommendation, num

_SUFFIX = re.compile(r"\.l\d+(\.reverse)?(#\d+)?$")


@dataclass(frozen=True)
class AdviceContext:
    """What the advice may say about the user's model and loop."""

    built: bool = False  # built by gradtrace.build_model: speak ModelSpec fields
    layers: tuple[str, ...] = ()  # the layers concerned (profile/matrix names)
    seq_len: int | None = None
    clip_rate: float | None = None  # share of recent steps the loop clipped (None: unknown)
    clipped_to: float | None = None  # the norm the loop clips to (median after clipping)
    typical_norm: float | None = None  # the median raw global norm (for a max_norm)
    paths: frozenset[str] = frozenset()  # the model's module paths (model.named_modules())
    attention: tuple[str, ...] = ()  # paths of the model's attention modules (attention_paths)


def attention_paths(model: object) -> tuple[str, ...]:
    """Module paths of ``model``'s attention layers: torch.nn.MultiheadAttention and any module
    whose class name says attention (``model`` itself is ``""``, shown as ``model``)."""
    import torch

    found = []
    for path, module in model.named_modules():  # type: ignore[attr-defined]
        name = type(module).__name__.lower()
        if isinstance(module, torch.nn.MultiheadAttention) or "attention" in name:
            found.append(path or "model")
    return tuple(found)


def module_expr(layer: str, paths: frozenset[str] = frozenset()) -> str:
    """``model.encoder`` for layer ``encoder.l0``; ``model.layers[1]`` for ``layers.1``; ``model``
    when the layer is the model itself (a name like ``lstm.l0`` that is no path in it)."""
    path = _SUFFIX.sub("", layer)
    if not path or (paths and path not in paths):
        return "model"
    expr = "model"
    for part in path.split("."):
        expr += f"[{part}]" if part.isdigit() else f".{part}"
    return expr


def _target(finding: str, ctx: AdviceContext) -> str:
    """The module a finding names (``(encoder.l0)`` at its end), else the first layer."""
    match = re.search(r"\(([^()]*?)\)\s*(?::|$)", finding)
    if match and match.group(1) and " " not in match.group(1):
        return module_expr(match.group(1), ctx.paths)
    return module_expr(ctx.layers[0], ctx.paths) if ctx.layers else "model.<rnn>"


def for_user(rec: Recommendation, ctx: AdviceContext) -> Recommendation:
    """``rec`` with its advice phrased for ctx (unchanged for gradtrace's own models)."""
    if ctx.built:
        return rec
    module, code = _target(rec.finding, ctx), rec.code
    t_max = ctx.seq_len or "T"
    norm = num(ctx.typical_norm) if ctx.typical_norm else "1.0"
    if code == "clip-gradients":
        if ctx.clip_rate:
            at = f" at about {num(ctx.clipped_to)}" if ctx.clipped_to else ""
            advice = (
                f"your loop already clips{at} (clip rate {ctx.clip_rate:.0%}): the raw "
                "gradient still grows, so lower the learning rate or re-initialize the "
                f"recurrent weights (gradtrace.init.orthogonal_({module}))"
            )
        else:
            advice = (
                f"clip the gradient norm: torch.nn.utils.clip_grad_norm_(model.parameters(), "
                f"max_norm={norm}) between loss.backward() and optimizer.step(); clipping "
                "bounds each update, it restores no lost long-range signal"
            )
    elif code == "spectral-radius":
        advice = (
            f"re-initialize the recurrent weights: gradtrace.init.orthogonal_({module}) or "
            f"gradtrace.init.spectral_({module}, rho=1.0)"
        )
    elif code == "orthogonal-init":
        advice = (
            f"initialize the recurrent weights to preserve norms: gradtrace.init.orthogonal_("
            f"{module}) (or gradtrace.init.identity_({module}) with ReLU units)"
        )
    elif code == "gated-cell":
        advice = (
            f"use a gated cell: replace {module} with torch.nn.LSTM or torch.nn.GRU of the "
            "same sizes; the additive state path carries the gradient much further"
        )
    elif code == "attention-readout" and ctx.attention:
        names = ", ".join(module_expr(path, ctx.paths) for path in ctx.attention[:3])
        advice = (
            f"your model already gives distant steps a short path to the loss through "
            f"attention ({names}); this horizon is {module}'s own memory, which one late loss "
            "term measures: where the state itself must carry information across time, "
            "lengthen that memory (a gated cell; for LSTM/GRU the forget bias or chrono "
            "initialization), else the attention path suffices"
        )
    elif code == "attention-readout":
        advice = (
            f"give distant steps a short path to the loss: attention over all outputs of "
            f"{module} (torch.nn.MultiheadAttention) instead of the last one, or residual "
            "connections between stacked layers"
        )
    elif code == "forget-bias":
        advice = (
            f"gradtrace.init.forget_bias_({module}, 1.0) (forget gate near 0.73), or "
            f"gradtrace.init.chrono_({module}, t_max={t_max}) to spread the timescales up to T"
        )
    elif code == "leaky-relu":
        advice = (
            f"let inactive units pass gradient: use torch.nn.functional.leaky_relu (or "
            f"nn.PReLU) in the cell of {module}, or a tanh nn.RNN"
        )
    elif code == "layer-norm":
        advice = (
            f"keep pre-activations out of saturation: a smaller initial scale "
            f"(gradtrace.init.orthogonal_({module})) or layer normalization inside the cell "
            "(torch's fused layers have none: gradtrace.models.cells.LSTMCell(..., "
            "layer_norm=True) is a drop-in cell)"
        )
    elif code == "curse-of-memory":
        found = re.search(r"most of all to (\S+):", rec.finding)
        param = found.group(1) if found else "<recurrent parameter>"
        factor = num(rec.value) if rec.value else "10"
        advice = (
            f"give {param} its own, smaller learning rate: torch.optim.Adam([{{'params': "
            f"[model.get_parameter('{param}')], 'lr': lr / {factor}}}, {{'params': [p for n, p "
            f"in model.named_parameters() if n != '{param}']}}], lr=lr); or replace {module} "
            "by an element-wise recurrence with normalized input and exponentially "
            "parametrized eigenvalues (gradtrace.models.frontier.LRULayer)"
        )
    elif code == "truncated-bptt":
        window = int(rec.value) if rec.value else "k"
        advice = (
            f"truncate backpropagation to {window} steps: carry the state across windows with "
            f"h = h.detach() every {window} steps; the gradient beyond the horizon is below eps "
            "anyway and activation memory drops accordingly"
        )
    else:
        return rec
    return replace(rec, advice=advice)


def speak(recs: list[Recommendation], ctx: AdviceContext | None) -> list[Recommendation]:
    """Every recommendation phrased for ``ctx`` (as they are without a context)."""
    return recs if ctx is None else [for_user(rec, ctx) for rec in recs]
