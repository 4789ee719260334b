"""The task registry: task name -> Task class, and `make_task` to build one from a spec."""

from __future__ import annotations

from typing import Any

from gradtrace.tasks.adding import AddingTask
from gradtrace.tasks.base import Task
from gradtrace.tasks.copy_memory import CopyTask
from gradtrace.tasks.digits import DigitsTask, PermutedDigitsTask
from gradtrace.tasks.temporal_order import TemporalOrderTask

TASKS: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (AddingTask, CopyTask, TemporalOrderTask, DigitsTask, PermutedDigitsTask)
}


def make_task(spec: Any) -> Task:
    """Build the Task a TaskSpec (or a dict of its fields) describes."""
    from gradtrace.tasks.spec import TaskSpec

    if not isinstance(spec, TaskSpec):
        spec = TaskSpec.from_dict(dict(spec))
    return TASKS[spec.name](spec)
