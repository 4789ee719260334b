"""The published-results file: its schema, and cells compared with it."""

from __future__ import annotations

import pytest

from gradtrace.study.literature import Literature, Published, architecture_of, compare, literature
from gradtrace.study.outcomes import group_cells


def test_the_shipped_file_is_valid_and_names_its_sources():
    results = literature()
    assert results and all(r.citation and r.checked in ("paper text", "issue 11") for r in results)
    assert {r.architecture for r in results} <= {"tanh RNN", "IRNN", "LSTM", "GRU"}


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
