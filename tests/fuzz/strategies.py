"""Hypothesis strategies for bad values: wrong types, out-of-range numbers, junk keys."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# a value of the wrong kind for a number field: text (digits too), booleans, containers
NOT_A_NUMBER = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["64", "1e3", "0x10", " 5", "nan", "true"]),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
NOT_A_BOOL = st.one_of(
    st.sampled_from(["yes", "no", "true", "1", ""]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
)
HUGE = st.one_of(
    st.integers(min_value=10**6, max_value=10**30), st.integers(max_value=-1, min_value=-(10**30))
)
JUNK_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)


def one_bad_field(
    numbers: list[str], bools: list[str], bounded: list[str]
) -> st.SearchStrategy[dict[str, Any]]:
    """A dict with exactly one field set to a value that must be refused."""
    cases = []
    if numbers:
        cases.append(st.tuples(st.sampled_from(numbers), NOT_A_NUMBER))
    if bools:
        cases.append(st.tuples(st.sampled_from(bools), NOT_A_BOOL))
    if bounded:
        cases.append(st.tuples(st.sampled_from(bounded), HUGE))
    cases.append(st.tuples(JUNK_KEY.map(lambda k: "zz_" + k), JSONISH))
    return st.one_of(cases).map(lambda kv: {kv[0]: kv[1]})
