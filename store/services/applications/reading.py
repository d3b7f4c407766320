"""Reading applications: the queue each role opens on, the list, an application's detail and history."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Subquery, case, func, label, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import NotFound
from store.models import (
    ApplicationCriterion,
    ApplicationState as S,
    Operator,
    OwnershipGroup,
    Platform,
    PlatformApplication,
    Role,
    Verdict,
)
from store.paging import Cursor, Page, page_of
from store.services import audit_log
from store.services.applications.views import ApplicationDetail, ApplicationRow, CriterionView
from store.sorting import Order, ordered, sort_key
from store.text import prefix_range
from store.uow import read_session


# What waits for whom: the queue an operator's Applications area opens on.
ROLE_QUEUES: dict[str, frozenset[str]] = {
    Role.REVIEWER: frozenset({S.SUBMITTED, S.IN_REVIEW, S.NEEDS_INFO}),
    Role.APPROVER: frozenset({S.RECOMMENDED}),
}


def waiting_states(actor: Actor) -> frozenset[str] | None:
    """The states waiting for the actor's roles; None when no role has a queue (show all)."""
    states = frozenset().union(*(ROLE_QUEUES.get(role, frozenset()) for role in actor.roles))
    return states or None


# The orders the applications list offers (store/sorting.py).
APPLICATION_ORDERS = {
    "submitted": Order((col(PlatformApplication.submitted_on), col(PlatformApplication.id))),
    "name": Order((col(PlatformApplication.name_key), col(PlatformApplication.id))),
    "state": Order((col(PlatformApplication.state), col(PlatformApplication.id))),
}


def _criteria_counts() -> Subquery:
    verdict = col(ApplicationCriterion.verdict)

    def count(*verdicts: str) -> ColumnElement[int]:
        return func.sum(case((verdict.in_(verdicts), 1), else_=0))

    return (
        select(
            label("application_id", col(ApplicationCriterion.application_id)),
            count(Verdict.PASS).label("passed"),
            count(Verdict.FAIL).label("failed"),
            count(Verdict.UNCHECKED, Verdict.NEEDS_INFO).label("pending"),
        )
        .group_by(col(ApplicationCriterion.application_id))
        .subquery()
    )


async def list_applications(
    db: Database,
    actor: Actor,
    *,
    states: frozenset[str] | None = None,
    name: str = "",
    sort: str = "submitted",
    cursor: Cursor | None = None,
    limit: int = 100,
) -> Page[ApplicationRow]:
    """One keyset page of applications in `states` (None: all), whose brand starts with `name`."""
    actor.require("application.read")
    counts = _criteria_counts()
    query = select(
        col(PlatformApplication.id), col(PlatformApplication.brand_name), col(PlatformApplication.legal_name),
        col(PlatformApplication.legal_form), col(PlatformApplication.state), col(PlatformApplication.submitted_on),
        col(PlatformApplication.recommendation),
        counts.c.passed, counts.c.failed, counts.c.pending,
    ).outerjoin(counts, counts.c.application_id == PlatformApplication.id)
    if states is not None:
        query = query.where(col(PlatformApplication.state).in_(sorted(states)))
    if name.strip():
        low, high = prefix_range(name)
        query = query.where(col(PlatformApplication.name_key) >= low, col(PlatformApplication.name_key) < high)
    query = ordered(query, APPLICATION_ORDERS, sort, cursor, limit)
    async with read_session(db) as session:
        rows = (await session.execute(query)).all()
    views = [
        ApplicationRow(
            row.id, row.brand_name, row.legal_name, row.legal_form, row.state, row.submitted_on,
            int(row.passed or 0), int(row.failed or 0), int(row.pending or 0), row.recommendation,
            sort_key(row),
        )
        for row in rows
    ]
    return page_of(views, limit, lambda view: view.sort_key, cursor=cursor)


async def _detail(session: AsyncSession, application_id: int) -> ApplicationDetail:
    app = await session.get(PlatformApplication, application_id)
    if app is None:
        raise NotFound("application.not_found", id=application_id)
    names: dict[int | None, str] = dict(
        (await session.execute(select(col(Operator.id), col(Operator.username)))).all()
    )
    group = await session.get(OwnershipGroup, app.ownership_group_id) if app.ownership_group_id else None
    platform = await session.get(Platform, app.platform_id) if app.platform_id else None
    criteria = (
        await session.execute(
            select(ApplicationCriterion)
            .where(col(ApplicationCriterion.application_id) == application_id)
            .order_by(col(ApplicationCriterion.number))
        )
    ).scalars()
    return ApplicationDetail(
        application_id, app.version, app.state, app.legal_name, app.brand_name, app.legal_form, app.nib, app.npwp,
        app.portal_url, tuple(app.province_codes.split()), app.payment_integration, app.own_group_providers,
        app.third_party_providers, app.licence_ref, app.deed_ref, group.name if group else "",
        app.contact_name, app.contact_email, app.contact_phone, app.submitted_on, app.previous_application_id,
        app.recommendation, app.recommendation_note, app.recommended_by, names.get(app.recommended_by, ""),
        app.recommended_at, names.get(app.decided_by, ""), app.decided_at, app.decision_note,
        app.reject_reason_code, platform.code if platform else None, app.provider_id,
        tuple(
            CriterionView(c.number, c.suggested, c.verdict, c.note, names.get(c.set_by, ""), c.set_at)
            for c in criteria
        ),
    )


async def get_application(db: Database, actor: Actor, application_id: int) -> ApplicationDetail:
    actor.require("application.read")
    async with read_session(db) as session:
        return await _detail(session, application_id)


async def _earlier_ids(session: AsyncSession, application_id: int) -> list[int]:
    """This application and the company's earlier ones it follows, newest first."""
    chain = [application_id]
    while True:
        previous = (
            await session.execute(
                select(col(PlatformApplication.previous_application_id))
                .where(col(PlatformApplication.id) == chain[-1])
            )
        ).scalar_one_or_none()
        if previous is None or previous in chain:
            return chain
        chain.append(previous)


async def application_history(db: Database, actor: Actor, application_id: int) -> list[audit_log.EventView]:
    """Every audit event of this application and of the earlier applications it follows."""
    actor.require("application.read")
    async with read_session(db) as session:
        ids = await _earlier_ids(session, application_id)
    return await audit_log.history(db, actor, "platform_application", [str(i) for i in ids])
