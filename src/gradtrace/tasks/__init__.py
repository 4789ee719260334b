"""Long-range tasks: seeded generators with a loss, a metric, a chance baseline and a criterion."""

from __future__ import annotations

from gradtrace.tasks.base import Task
from gradtrace.tasks.registry import TASKS, make_task
from gradtrace.tasks.spec import TaskSpec

__all__ = ["TASKS", "Task", "TaskSpec", "make_task"]
