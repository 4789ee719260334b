"""Entry points accept the frontier cells: study files (variants, grids) and gradtrace probe."""

from __future__ import annotations

import pytest

from gradtrace.cli.main import main
from gradtrace.models import build_model
from gradtrace.study.expand import expand
from gradtrace.study.loading import spec_from_dict


def test_a_study_grid_crosses_the_frontier_cells():
    spec = spec_from_dict(
        {
            "tasks": ["adding"],
            "seq_lens": [10],
            "seeds": [0],
            "grid": {"cell": ["lstm", "indrnn", "exprnn", "lru", "mingru", "minlstm"]},
            "model": {"hidden_size": 8},
            "budget": {"max_steps": 2, "max_seconds": 10.0},
        }
    )
    runs = expand(spec)
    cells = sorted(run.config["model"]["cell"] for run in runs)
    assert cells == sorted(["lstm", "indrnn", "exprnn", "lru", "mingru", "minlstm"])
    for run in runs:
        fields = {k: v for k, v in run.config["model"].items() if v is not None}
        model = build_model({**fields, "input_size": 2})
        assert model.spec.cell == run.config["model"]["cell"]


@pytest.mark.parametrize("cell", ["lru", "exprnn"])
def test_probe_diagnoses_a_frontier_cell_from_the_cli(capsys, cell):
    with pytest.raises(SystemExit) as info:
        main(["probe", "--cell", cell, "--hidden", "8", "--seq-len", "20"])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    assert "verdict" in out
