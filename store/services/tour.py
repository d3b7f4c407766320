"""The demo's guided tour, read from the audit trail: "is this step done?" is answered by what the
operators really did since the tour began, never by which keys were pressed.

The tour's whole state is one number, the newest audit event when it began (its mark), so it
survives switching operator: every step is a fact in the log after that mark. Only action names
and record ids are read, and only whether each step happened is returned: the tour
shows no content; still, it is the audit trail, read only by those who may read it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.models import AuditEvent
from store.uow import read_session


@dataclass(frozen=True)
class Event:
    action: str
    entity_id: str


Check = Callable[[Sequence[Event]], bool]


def _any(*actions: str) -> Check:
    return lambda events: any(event.action in actions for event in events)


def _all(*checks: Check) -> Check:
    return lambda events: all(check(events) for check in checks)


def _tour_batches(events: Sequence[Event]) -> set[str]:
    """Batches prepared and submitted during the tour: the approvers' steps are about these (an
    approval of a batch from before the tour would skip the story)."""
    prepared = {event.entity_id for event in events if event.action == "payment_batch.prepared"}
    return {event.entity_id for event in events if event.action == "payment_batch.submitted"} & prepared


def _on_a_tour_batch(*actions: str) -> Check:
    def done(events: Sequence[Event]) -> bool:
        batches = _tour_batches(events)
        return any(event.action in actions and event.entity_id in batches for event in events)

    return done


@dataclass(frozen=True)
class Step:
    key: str  # the message ids are tour.<key>.title and tour.<key>.keys (tui/locales/*/tour.toml)
    operator: str  # the demo operator who acts in this step (fixtures/demo/operators.csv)
    done: Check


STEPS: tuple[Step, ...] = (
    Step("review", "reviewer", _any("application.recommended")),
    Step("decide", "approver", _any("application.decided")),
    Step("list_course", "curator", _any("listing.created")),
    Step("select_assign", "coordinator",
         _all(_any("wave.selected"), _any("enrollment.assigned", "enrollment.bulk_assigned"))),
    Step("prepare_batch", "finance", lambda events: bool(_tour_batches(events))),
    # Four eyes: the first approval by one approver, the final one by another (the service refuses
    # a second approval by the same person; the tour only shows it). A batch under the two-approver
    # threshold is approved by its first approval: the log says so, and the tour moves on.
    Step("first_approval", "approver", _on_a_tour_batch("payment_batch.approval_given", "payment_batch.approved")),
    Step("final_approval", "approver2", _on_a_tour_batch("payment_batch.approved")),
    Step("verify", "auditor", _any("audit.verified")),
)
WATCHED = sorted({
    "application.recommended", "application.decided", "listing.created", "wave.selected", "enrollment.assigned",
    "enrollment.bulk_assigned", "payment_batch.prepared", "payment_batch.submitted",
    "payment_batch.approval_given", "payment_batch.approved", "audit.verified",
})


async def begin(db: Database, actor: Actor) -> int:
    """The tour's mark: the newest audit event now (0 on an empty log)."""
    actor.require("audit.read")
    async with read_session(db) as session:
        return (await session.execute(select(func.coalesce(func.max(col(AuditEvent.id)), 0)))).scalar_one()


async def progress(db: Database, actor: Actor, mark: int) -> list[bool]:
    """For each step of STEPS, whether it has been done since `mark`. Read from the audit trail,
    so by the office roles who may read it (the tour's operators are all of them)."""
    actor.require("audit.read")
    query = (
        select(col(AuditEvent.action), col(AuditEvent.entity_id))
        .where(col(AuditEvent.id) > mark, col(AuditEvent.action).in_(WATCHED))
        .order_by(col(AuditEvent.id))
    )
    async with read_session(db) as session:
        events = [Event(*row) for row in (await session.execute(query)).all()]
    return [step.done(events) for step in STEPS]


def current(done: Sequence[bool]) -> int:
    """The first step not yet done (len(STEPS) when the tour is over): the story is told in order,
    so a later step done early skips nothing."""
    return next((index for index, finished in enumerate(done) if not finished), len(STEPS))
