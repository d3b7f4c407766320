"""The guided tour's steps are read from the audit trail since the tour began (store/services/tour.py)."""

from __future__ import annotations

from store.services import tour
from store.uow import unit_of_work


async def _record(db, actor, action: str, entity: str, entity_id) -> None:
    async with unit_of_work(db, actor) as uow:
        uow.audit(action, entity, entity_id)


async def test_steps_follow_the_log_after_the_mark_in_order(db, actors):
    await _record(db, actors.reviewer, "application.recommended", "platform_application", 1)
    mark = await tour.begin(db, actors.admin)
    # What happened before the tour began does not count.
    assert await tour.progress(db, actors.admin, mark) == [False] * len(tour.STEPS)
    assert await tour.current_step(db, actors.admin, mark) == 0

    await _record(db, actors.curator, "listing.created", "course_listing", 7)
    assert await tour.current_step(db, actors.admin, mark) == 0, "a later step done early skips nothing"
    await _record(db, actors.reviewer, "application.recommended", "platform_application", 2)
    await _record(db, actors.approver, "application.decided", "platform_application", 2)
    assert await tour.current_step(db, actors.admin, mark) == 3

    await _record(db, actors.coordinator, "wave.selected", "wave", 3)
    assert await tour.current_step(db, actors.admin, mark) == 3, "selecting alone is half the step"
    await _record(db, actors.coordinator, "enrollment.assigned", "enrollment", 11)
    assert await tour.current_step(db, actors.admin, mark) == 4


async def test_the_batch_step_needs_two_different_approvers(db, actors):
    mark = await tour.begin(db, actors.admin)
    await _record(db, actors.finance, "payment_batch.prepared", "payment_batch", 5)
    await _record(db, actors.approver, "payment_batch.approval_given", "payment_batch", 5)
    await _record(db, actors.approver, "payment_batch.approved", "payment_batch", 5)
    assert (await tour.progress(db, actors.admin, mark))[-1] is False, "one approver twice is not four eyes"
    # Another batch, approved by two people: that is the step.
    await _record(db, actors.finance, "payment_batch.prepared", "payment_batch", 6)
    await _record(db, actors.approver, "payment_batch.approval_given", "payment_batch", 6)
    await _record(db, actors.approver2, "payment_batch.approved", "payment_batch", 6)
    assert (await tour.progress(db, actors.admin, mark))[-1] is True
