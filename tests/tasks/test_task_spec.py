"""TaskSpec and the registry: defaults, one-line errors, round trips."""

from __future__ import annotations

import pytest

from gradtrace.tasks import TASKS, Task, TaskSpec, make_task


def test_registry_holds_the_five_tasks_as_task_classes():
    assert set(TASKS) == {"adding", "copy", "temporal_order", "digits", "digits_permuted"}
    assert all(issubclass(cls, Task) and cls.name == name for name, cls in TASKS.items())


def test_unset_fields_take_the_task_defaults():
    assert TaskSpec(name="adding").to_dict() == {"name": "adding", "seq_len": 100}
    assert TaskSpec(name="copy").to_dict() == {
        "name": "copy",
        "recall": 10,
        "alphabet": 8,
        "seq_len": 120,
    }
    assert TaskSpec(name="temporal_order").symbols == 2
    assert TaskSpec(name="digits").seq_len == 64


def test_specs_round_trip_through_dicts_and_build_tasks_from_dicts():
    spec = TaskSpec(name="temporal_order", seq_len=50, symbols=3)
    assert TaskSpec.from_dict(spec.to_dict()) == spec
    task = make_task(spec.to_dict())
    assert task.spec == spec and task.output_size == 8


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "sorting"}, "^name: 'sorting' is not allowed; choose one of adding, copy"),
        ({"name": "adding", "symbols": 3}, "^symbols: 3 is not allowed; adding has no such"),
        ({"name": "adding", "seq_len": 1}, "^seq_len: 1 is not allowed"),
        ({"name": "adding", "seq_len": 10**6}, "^seq_len: 1000000 is not allowed"),
        ({"name": "copy", "alphabet": 1}, "^alphabet: 1 is not allowed; copy allows 2..64"),
        ({"name": "adding", "colour": "red"}, "^colour: 'red' is not allowed; unknown key"),
        ({"name": "copy", "seq_len": 20}, r"copy needs seq_len >= 21 \(.*recall = 10\)"),
        ({"name": "copy", "seq_len": 20, "recall": 12}, r"needs seq_len >= 25 \(.*recall = 12\)"),
    ],
)
def test_invalid_fields_raise_one_line_errors_naming_the_field(fields, message):
    with pytest.raises(ValueError, match=message) as error:
        TaskSpec(**fields)
    assert "\n" not in str(error.value)


def test_specs_are_frozen():
    spec = TaskSpec(name="adding")
    with pytest.raises(ValueError):
        spec.seq_len = 5  # type: ignore[misc]
