"""Reading, verifying and exporting the audit log as an operator."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, select
from sqlmodel import col

from store import audit
from store.actor import Actor
from store.counting import Count, count_of
from store.engine import Database
from store.errors import InvalidInput
from store.guards import missing_guards
from store.models import AuditEvent
from store.paging import Cursor, Page, keyset, page_of
from store.operation import operation
from store.scope import visible_ids
from store.uow import UnitOfWork, read_session

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class EventView:
    id: int
    at: dt.datetime
    operator_name: str
    action: str
    entity: str
    entity_id: str
    changes: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class EventFilter:
    operator: str = ""
    entity: str = ""
    action: str = ""  # a prefix: "application." matches every application event
    entity_id: str = ""


def _view(row: AuditEvent) -> EventView:
    return EventView(
        row.id, row.at, row.operator_name, row.action, row.entity, row.entity_id,
        json.loads(row.changes), row.reason,
    )


def _filtered(query: Select[*Ts], filters: EventFilter) -> Select[*Ts]:
    """`query` over audit_event narrowed by `filters` (shared by the page and its count)."""
    if filters.operator:
        query = query.where(col(AuditEvent.operator_name) == filters.operator.strip().lower())
    if filters.entity:
        query = query.where(col(AuditEvent.entity) == filters.entity.strip())
    if filters.entity_id:
        query = query.where(col(AuditEvent.entity_id) == filters.entity_id.strip())
    if filters.action:
        prefix = filters.action.strip()
        query = query.where(col(AuditEvent.action) >= prefix, col(AuditEvent.action) < prefix + "\uffff")
    return query


# The orders the log offers: by the event's number, the chain's own order (the primary key: any
# page at any depth of millions of events is one index range).
AUDIT_SORTS = ("newest", "oldest")


async def list_events(
    db: Database, actor: Actor, filters: EventFilter = EventFilter(), *, sort: str = "newest",
    cursor: Cursor | None = None, limit: int = 100,
) -> Page[EventView]:
    """One keyset page in `sort` order (newest or oldest first), after `cursor` (store/paging.py)."""
    actor.require("audit.read")
    if sort not in AUDIT_SORTS:
        raise InvalidInput("list.sort_unknown", field="sort", value=sort)
    query = keyset(_filtered(select(AuditEvent), filters), [col(AuditEvent.id)], cursor, limit,
                   descending=sort == "newest")
    async with read_session(db, replica=True) as session:
        rows = (await session.execute(query)).scalars().all()
    return page_of([_view(row) for row in rows], limit, lambda event: (event.id,), cursor=cursor)


async def count_events(db: Database, actor: Actor, filters: EventFilter = EventFilter()) -> Count:
    """How many events the log holds under `filters`: exact, or an estimate marked as one when
    the log is large (the log only grows: millions of rows in a program's life; store/counting.py)."""
    actor.require("audit.read")
    async with read_session(db, replica=True) as session:
        return await count_of(session, _filtered(select(col(AuditEvent.id)), filters))


# Who may read a record's history: whoever may read the record itself. Areas whose records are
# scoped to a platform check that scope before asking for the history.
HISTORY_PERMISSIONS = {
    "platform_application": "application.read",
    "platform": "platform.read",
    "obligation_item": "obligation.read",
    "provider": "provider.read",
    "course": "course.read",
    "wave": "wave.read",
    "participant": "participant.read",
    "enrollment": "participant.read",
    "payment_batch": "payment.read",
    "operator": "operator.read",
}


async def history(db: Database, actor: Actor, entity: str, entity_ids: list[str | int]) -> list[EventView]:
    """Every event of these records, oldest first (a record's history panel)."""
    actor.require(HISTORY_PERMISSIONS.get(entity, "audit.read"))
    async with read_session(db) as session:
        # Platform staff read the history of their own platform's records only.
        ids = await visible_ids(session, actor, entity, entity_ids)
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.entity) == entity, col(AuditEvent.entity_id).in_(ids))
            .order_by(col(AuditEvent.id))
        )
        rows = (await session.execute(query)).scalars().all() if ids else []
    return [_view(row) for row in rows]


async def verify(db: Database, actor: Actor, anchors: Iterable[str] = ()) -> audit.VerifyResult:
    """Recompute the chain; `anchors` ("id:hash", from earlier verifications) must still hold."""
    actor.require("audit.verify")
    noted = dict(audit.parse_anchor(anchor) for anchor in anchors)
    await db.settle()  # the verifier's own login event is part of what it checks
    async with db.engine.connect() as connection:
        missing = await missing_guards(connection)
        result = await audit.verify(connection, noted)
    if missing and result.intact:
        # The chain may verify today, but nothing stops tomorrow's rewrite: that is a failure.
        result = dataclasses.replace(result, broken_id=0, problem="guards", missing_guards=missing)
    else:
        result = dataclasses.replace(result, missing_guards=missing)
    # Who checked, when, and what they found is itself part of the record (an auditor's working
    # papers cite it; the demo's guided tour waits for it).
    await _record_verification(db, actor, result)
    return result


@operation
async def _record_verification(uow: UnitOfWork, result: audit.VerifyResult) -> None:
    """The verification's own event, written after the check (which reads outside any transaction)."""
    uow.actor.require("audit.verify")
    uow.audit("audit.verified", "audit_event", "", details={
        "checked": result.checked, "intact": result.intact, "problem": result.problem,
        "anchor": result.anchor if result.intact else "",
    })


async def guard_check(db: Database) -> tuple[str, ...]:
    """The guard triggers missing from the database (the console warns at start)."""
    async with db.engine.connect() as connection:
        return await missing_guards(connection)


async def export(db: Database, actor: Actor, fmt: str) -> AsyncIterator[str]:
    """Stream the whole log; the export itself is recorded in the log first."""
    actor.require("audit.export")
    if fmt not in ("csv", "jsonl"):
        raise ValueError(fmt)
    await _record_export(db, actor, fmt)
    async with db.engine.connect() as connection:
        async for chunk in audit.export(connection, fmt):
            yield chunk


@operation
async def _record_export(uow: UnitOfWork, fmt: str) -> None:
    """The export's own event, committed before the log is streamed (outside any transaction)."""
    uow.actor.require("audit.export")
    uow.audit("audit.exported", "audit_event", "", details={"format": fmt})
