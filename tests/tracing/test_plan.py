"""StepPlan and NormRing: the flat time-major bookkeeping under the layer kernels."""

from __future__ import annotations

import torch

from gradtrace.tracing.plan import NormRing, StepPlan

PACKED = [4, 3, 3, 1]  # batch_sizes of a PackedSequence: 11 rows


def test_a_forward_direction_starts_each_row_from_the_previous_step_or_h0():
    plan = StepPlan(PACKED, reverse=False)
    assert plan.offsets == [0, 4, 7, 10] and plan.total == 11 and not plan.uniform
    index = plan.previous_rows(torch.device("cpu")).tolist()
    assert index == [11, 12, 13, 14, 0, 1, 2, 4, 5, 6, 7]


def test_a_reverse_direction_starts_rows_from_the_next_step_or_h0():
    plan = StepPlan(PACKED, reverse=True)
    assert plan.order == [3, 2, 1, 0]
    index = plan.previous_rows(torch.device("cpu")).tolist()
    # step 0 rows come from step 1 (3 rows) and h0 (row 3); step 2 row 0 from step 3
    assert index == [4, 5, 6, 14, 7, 8, 9, 10, 12, 13, 11]


def test_the_ring_writes_the_norm_of_every_row_once_all_steps_are_done():
    for reverse in (False, True):
        for sizes in (PACKED, [3] * 70):
            plan = StepPlan(sizes, reverse=reverse)
            norms = torch.full((plan.total,), -1.0)
            ring = NormRing(plan, 5, norms, norms)
            rows = torch.randn(plan.total, 5)
            for t in reversed(plan.order):  # backward visits steps in reverse processing order
                ring.slots[t].copy_(rows[plan.offsets[t] : plan.offsets[t] + sizes[t]])
                ring.done(t)
            torch.testing.assert_close(norms, torch.linalg.vector_norm(rows, dim=1))
