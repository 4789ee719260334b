"""The published-results file: its schema, and cells compared with it."""

from __future__ import annotations

import pytest

from gradtrace.study.literature import Literature, Published, architecture_of, compare, literature
from gradtrace.study.outcomes import group_cells


def test_the_shipped_file_is_valid_and_names_its_sources():
    results = literature()
    assert results and all(r.citation and r.checked in ("paper text", "issue 11") for r in results)
    assert {r.architecture for r in results} <= {"tanh RNN", "IRNN", "LSTM", "GRU", "IndRNN"}
    # the frontier entries: IndRNN (Li et al. 2018) on adding, as its Section 5.1 says
    indrnn = {(r.seq_len, r.architecture): r.outcome for r in results if r.citation[:3] == "Li,"}
    assert indrnn[(1000, "IndRNN")] == "solved" and indrnn[(1000, "LSTM")] == "unsolved"
    assert indrnn[(100, "tanh RNN")] == "unsolved" and (500, "IndRNN") not in indrnn


def test_the_schema_rejects_unknown_keys_and_outcomes():
    good = {
        "citation": "Someone (2000), A paper",
        "task": "adding",
        "seq_len": 100,
        "architecture": "LSTM",
        "outcome": "solved",
        "checked": "paper text",
    }
    assert Published(**good).hidden_size is None
    with pytest.raises(ValueError):
        Published(**{**good, "outcome": "great"})
    with pytest.raises(ValueError):
        Published(**{**good, "loss": 0.1})
    with pytest.raises(ValueError):
        Literature(result=())


def _row(variant, status, *, cell="lstm", init="default", act="tanh", seed=0, steps=500):
    model = {
        "cell": cell,
        "init": init,
        "activation": act,
        "hidden_size": 32,
        "num_layers": 1,
        "residual": False,
        "layer_norm": False,
        "readout": "last",
    }
    return {
        "task": "adding",
        "variant": variant,
        "seq_len": 400,
        "seed": seed,
        "status": status,
        "steps_to_solve": 100 if status == "solved" else None,
        "config": {"model": model, "train": {"max_steps": steps, "tbptt": None}},
    }


def test_cells_agree_differ_with_a_reason_or_stay_undecided():
    paper = Published(
        citation="Paper (2016), Adding",
        task="adding",
        seq_len=400,
        architecture="LSTM",
        hidden_size=128,
        outcome="solved",
        checked="issue 11",
    )
    solved = group_cells([_row("LSTM", "solved")]).values()
    assert compare(list(solved), (paper,))[0]["agrees"] is True
    failed = compare(list(group_cells([_row("LSTM", "unsolved")]).values()), (paper,))[0]
    assert failed["agrees"] is False
    assert failed["reason"] == "budget: 500 steps here; size: H=32 here, 128 in the paper"
    late = compare(list(group_cells([_row("LSTM", "out_of_time")]).values()), (paper,))[0]
    assert late["agrees"] is None and "out_of_time" in late["reason"]
    # a ReLU RNN with identity init is an IRNN, not an LSTM: no match
    irnn = _row("IRNN", "solved", cell="rnn", init="identity", act="relu")
    assert compare(list(group_cells([irnn]).values()), (paper,)) == []
    assert architecture_of(irnn["config"]["model"], irnn["config"]["train"]) == "IRNN"


def test_frontier_cells_match_their_papers_and_name_the_layer_count():
    paper = Published(
        citation="Li et al. (2018), IndRNN",
        task="adding",
        seq_len=400,
        architecture="IndRNN",
        hidden_size=128,
        num_layers=2,
        outcome="solved",
        checked="paper text",
    )
    row = _row("IndRNN", "unsolved", cell="indrnn")
    assert architecture_of(row["config"]["model"], row["config"]["train"]) == "IndRNN"
    found = compare(list(group_cells([row]).values()), (paper,))[0]
    assert found["agrees"] is False
    assert found["reason"] == (
        "budget: 500 steps here; size: H=32 here, 128 in the paper; layers: 1 here, 2 in the paper"
    )
    # an LSTM is not an IndRNN, and a 2-layer LSTM matches no single-layer entry
    assert compare(list(group_cells([_row("LSTM", "solved")]).values()), (paper,)) == []
    stacked = _row("LSTM", "solved")
    stacked["config"]["model"]["num_layers"] = 2
    assert architecture_of(stacked["config"]["model"], stacked["config"]["train"]) is None
