"""Claim records round-trip through JSON; the registry is consistent; budgets validate."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradtrace.audit.budget import BUDGETS, TINY, get_budget, needs_more, smallest_budget_reaching
from gradtrace.audit.claim import VERDICTS, ClaimResult, Finding, jsonable
from gradtrace.audit.registry import CHECKS, CLAIMS, select
from gradtrace.errors import InvalidValue

SEED_FILES = {"000", "001", "002", "003"}


def test_a_claim_result_round_trips_through_json():
    spec = CLAIMS["decay-table"]
    finding = Finding("nuanced", "one line", {"cells": [{"x": np.float64(0.5), "n": math.nan}]})
    result = ClaimResult.of(spec, finding, budget="quick", seconds=0.12345)
    text = json.dumps(result.to_dict(), allow_nan=False)
    again = ClaimResult.from_dict(json.loads(text))
    assert again == result
    assert again.evidence["cells"][0] == {"x": 0.5, "n": None}
    assert again.seeds == ["000"] and again.seed_label == "000"


def test_from_dict_rejects_unknown_keys():
    data = ClaimResult.of(
        CLAIMS["decay-table"], Finding("confirmed", "s"), budget="quick", seconds=0
    ).to_dict()
    with pytest.raises(ValueError, match="unknown keys"):
        ClaimResult.from_dict({**data, "colour": "red"})


def test_a_finding_needs_a_known_verdict_and_a_one_line_summary():
    with pytest.raises(ValueError, match="verdict"):
        Finding("supported", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one line"):
        Finding("confirmed", "two\nlines")


def test_jsonable_turns_arrays_and_non_finite_numbers_into_plain_json():
    value = jsonable({"a": np.arange(3), "b": (np.inf, 1), 2: np.bool_(True)})
    assert value == {"a": [0, 1, 2], "b": [None, 1], "2": True}


def test_every_registered_claim_is_complete_and_unique():
    assert len(CLAIMS) == len(CHECKS) >= 40
    for claim_id, spec in CLAIMS.items():
        assert claim_id == spec.id and claim_id == claim_id.lower() and " " not in claim_id
        assert spec.seeds and set(spec.seeds) <= SEED_FILES
        assert spec.text.endswith(".") and spec.method and spec.check.__doc__
    covered = {seed for spec in CLAIMS.values() for seed in spec.seeds}
    assert covered == SEED_FILES


def test_select_keeps_registry_order_and_rejects_unknown_ids_in_one_line():
    chosen = select(["decay-table", "sigmoid-derivative-peak", "decay-table"])
    assert [c.id for c in chosen] == ["sigmoid-derivative-peak", "decay-table"]
    with pytest.raises(InvalidValue) as info:
        select(["decay-table", "no-such-claim"])
    message = str(info.value)
    assert "\n" not in message and "'no-such-claim'" in message and "decay-table" in message


def test_budgets_validate_and_point_to_the_next_larger_one():
    assert get_budget("quick") is BUDGETS["quick"]
    with pytest.raises(InvalidValue, match="--budget"):
        get_budget("huge")
    assert needs_more("not tested at this budget", BUDGETS["quick"]).startswith("--budget standard")
    assert needs_more("confirmed", BUDGETS["quick"]) is None
    assert needs_more("not tested at this budget", BUDGETS["full"]) == "a larger budget"
    assert smallest_budget_reaching(1000) == "full"
    assert smallest_budget_reaching(10**6) is None


def test_budget_overrides_change_only_the_named_settings():
    settings = TINY.study_settings()
    assert settings["model"]["hidden_size"] == 8
    assert settings["budget"]["max_steps"] == 40
    assert settings["train"]["clip"] == BUDGETS["quick"].study_settings()["train"]["clip"]
    assert settings["tune"] == BUDGETS["quick"].study_settings()["tune"]
    assert set(VERDICTS) >= {"confirmed", "refuted", "nuanced"}


def test_runs_stopped_by_the_clock_count_neither_solved_nor_unsolved():
    from gradtrace.audit.context import solved_share

    runs = [{"status": "solved"}, {"status": "unsolved"}, {"status": "out_of_time"}]
    assert solved_share(runs) == 0.5
    assert solved_share([{"status": "out_of_time"}]) is None
