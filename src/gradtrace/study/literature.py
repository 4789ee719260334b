"""Published outcomes (gradtrace/data/literature.toml) side by side with a study's cells."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gradtrace.errors import InvalidValue
from gradtrace.models.spec import FRONTIER_LABELS
from gradtrace.study.outcomes import Cell

Architecture = Literal[
    "tanh RNN",
    "IRNN",
    "LSTM",
    "GRU",
    "IndRNN",
    "expRNN",
    "LRU",
    "minGRU",
    "minLSTM",
    "selective SSM",
]
# the frontier cells (gradtrace.models.frontier) by the names the papers use
FRONTIER_ARCHITECTURES: dict[str, str] = dict(FRONTIER_LABELS)
Outcome = Literal["solved", "unsolved"]


class Published(BaseModel):
    """One outcome a paper reports: task, T, architecture, size, budget, outcome, citation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    citation: str = Field(min_length=10, max_length=200)
    task: str = Field(min_length=1, max_length=40)
    seq_len: int = Field(ge=1)
    architecture: Architecture
    hidden_size: int | None = Field(default=None, ge=1)
    num_layers: int | None = Field(default=None, ge=1)
    budget: str | None = Field(default=None, max_length=200)
    outcome: Outcome
    checked: Literal["paper text", "issue 11"]
    where: str = Field(default="", max_length=300)  # where the text was read
    note: str = Field(default="", max_length=300)


class Literature(BaseModel):
    """The whole file: a list of [[result]] tables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: tuple[Published, ...] = Field(min_length=1)


def literature() -> tuple[Published, ...]:
    """The published outcomes shipped with gradtrace (validated)."""
    text = (resources.files("gradtrace.data") / "literature.toml").read_text()
    try:
        return Literature.model_validate(tomllib.loads(text)).result
    except ValidationError as e:
        raise InvalidValue(
            "literature.toml", str(e.errors()[0]["loc"]), e.errors()[0]["msg"]
        ) from e


def architecture_of(model: dict[str, Any], train: dict[str, Any]) -> str | None:
    """Which published architecture a study variant is ("tanh RNN", "IRNN", ...), if any.

    Stacks of layers match too (the layer count is compared as a likely reason); residual
    connections, layer norm, attention readouts and truncated BPTT do not.
    """
    plain = (
        not model.get("residual")
        and not model.get("layer_norm")
        and model.get("readout") in ("last", "all")
        and train.get("tbptt") is None
    )
    if not plain:
        return None
    cell, init, act = model.get("cell"), model.get("init"), model.get("activation")
    if cell in FRONTIER_ARCHITECTURES:  # each has its paper's own initialization only
        return FRONTIER_ARCHITECTURES[cell]
    if model.get("num_layers", 1) != 1:
        return None
    if cell in ("lstm", "gru") and init == "default":
        return cell.upper()
    if cell == "rnn" and act == "relu" and init == "identity":
        return "IRNN"
    if cell == "rnn" and act == "tanh" and init == "default":
        return "tanh RNN"
    return None


def compare(cells: list[Cell], published: tuple[Published, ...]) -> list[dict[str, Any]]:
    """For each published outcome with a matching cell: agreement, and the likely reason if not.

    A cell matches on task, T and architecture. It agrees when its outcome is the paper's;
    an undecided cell (out of time, pending) neither agrees nor disagrees. Where they differ
    the reason names what differs: the step budget (a paper's success the study did not
    reach in its budget), the hidden size, the layer count, or the protocol (everything
    else).
    """
    out = []
    for paper in published:
        for cell in cells:
            row = cell.rows[0] if cell.rows else {}
            config = row.get("config") or {}
            model, train = config.get("model") or {}, config.get("train") or {}
            if (cell.task, cell.seq_len) != (paper.task, paper.seq_len):
                continue
            if architecture_of(model, train) != paper.architecture:
                continue
            out.append(_verdict(paper, cell, model, train))
    return out


def _verdict(paper: Published, cell: Cell, model: dict[str, Any], train: dict[str, Any]):
    outcome = cell.outcome
    size = model.get("hidden_size")
    record = {
        "citation": paper.citation,
        "task": paper.task,
        "seq_len": paper.seq_len,
        "architecture": paper.architecture,
        "variant": cell.variant,
        "published": paper.outcome,
        "study": outcome,
        "paper_hidden_size": paper.hidden_size,
        "study_hidden_size": size,
        "checked": paper.checked,
    }
    if outcome not in ("solved", "unsolved"):
        return {**record, "agrees": None, "reason": f"undecided here ({outcome})"}
    if outcome == paper.outcome:
        return {**record, "agrees": True, "reason": ""}
    reasons = []
    if paper.outcome == "solved":
        reasons.append(f"budget: {train.get('max_steps')} steps here")
    if paper.hidden_size is not None and size is not None and paper.hidden_size != size:
        reasons.append(f"size: H={size} here, {paper.hidden_size} in the paper")
    layers = model.get("num_layers", 1)
    if paper.num_layers is not None and paper.num_layers != layers:
        reasons.append(f"layers: {layers} here, {paper.num_layers} in the paper")
    if not reasons or paper.outcome == "unsolved":
        reasons.append("protocol (optimizer, tuning, criterion)")
    return {**record, "agrees": False, "reason": "; ".join(reasons)}
