"""The demo's guided tour, read from the audit trail: "is step N done?" is answered by what the
operators really did since the tour began, never by which keys were pressed.

The tour's state is a single number, the last audit event before it began (`begin`), so it
survives logging out and in as another operator: every step is a fact in the log after that
mark. Only action names, entity ids and operator names are read: the tour shows no content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from store.actor import Actor
from store.engine import Database
from store.models import AuditEvent
from store.uow import read_session


@dataclass(frozen=True)
class Event:
    action: str
    entity_id: str
    operator: str


Check = Callable[[Sequence[Event]], bool]


def _any(action: str) -> Check:
    return lambda events: any(event.action == action for event in events)


def _all(*actions: str) -> Check:
    return lambda events: all(_any(action)(events) for action in actions)


def _approved_by_two(events: Sequence[Event]) -> bool:
    """A batch prepared in the tour, given its first approval by one operator and its final one
    by another: the four-eyes rule shown, not bypassed."""
    prepared = {event.entity_id for event in events if event.action == "payment_batch.prepared"}

    def by(action: str, batch: str) -> set[str]:
        return {event.operator for event in events if event.action == action and event.entity_id == batch}

    return any(
        first and final and first.isdisjoint(final)
        for batch in prepared
        for first, final in [(by("payment_batch.approval_given", batch), by("payment_batch.approved", batch))]
    )


@dataclass(frozen=True)
class Step:
    key: str  # the message ids are tour.<key>.title / tour.<key>.keys (tui/locales)
    role: str  # the demo operator who acts in this step
    done: Check


STEPS: tuple[Step, ...] = (
    Step("review", "reviewer", _any("application.recommended")),
    Step("decide", "approver", _any("application.decided")),
    Step("list_course", "curator", _any("listing.created")),
    Step("select_assign", "coordinator", _all("wave.selected", "enrollment.assigned")),
    Step("prepare_batch", "finance", _any("payment_batch.prepared")),
    Step("approve_batch", "approver", _approved_by_two),
)
WATCHED = sorted({"application.recommended", "application.decided", "listing.created", "wave.selected",
                  "enrollment.assigned", "payment_batch.prepared", "payment_batch.approval_given",
                  "payment_batch.approved"})


async def begin(db: Database, actor: Actor) -> int:
    """The tour's mark: the newest audit event now (0 on an empty log)."""
    async with read_session(db) as session:
        return (await session.execute(select(func.coalesce(func.max(AuditEvent.id), 0)))).scalar_one()


async def progress(db: Database, actor: Actor, mark: int) -> list[bool]:
    """For each step of STEPS, whether it has been done since `mark`."""
    query = (
        select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.operator_name)
        .where(AuditEvent.id > mark, AuditEvent.action.in_(WATCHED))
        .order_by(AuditEvent.id)
    )
    async with read_session(db) as session:
        events = [Event(*row) for row in (await session.execute(query)).all()]
    return [step.done(events) for step in STEPS]


async def current_step(db: Database, actor: Actor, mark: int) -> int:
    """The index of the first step not yet done (len(STEPS) when the tour is over): steps are
    taken in order, so a later step done early does not skip the story."""
    done = await progress(db, actor, mark)
    return next((index for index, finished in enumerate(done) if not finished), len(STEPS))
