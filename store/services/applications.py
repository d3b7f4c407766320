"""Platform applications: the review workflow, the two-person decision, and the reads behind them.

    submitted -> in review <-> needs information -> recommended -> approved | rejected | reclassified
                                                 (sent back to review by an approver)

A reviewer sets the seven verdicts and recommends; an approver who is not that reviewer decides
(maker-checker, also the CHECK constraint `decider_not_recommender`). Approval creates the platform,
reclassification an inventoried training provider. Decided applications are read-only: the services
refuse, and database triggers are the backstop. Every change is one unit of work with its audit
event and bumps the application's version, so acting on a stale view reads "changed by someone
else" instead of deciding on criteria that moved meanwhile.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Subquery, case, func, label, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.criteria import check_outcome, is_override, note_required
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    DECIDED_STATES,
    ApplicationCriterion,
    ApplicationState,
    Criterion,
    Operator,
    OwnershipGroup,
    Platform,
    PlatformApplication,
    Provider,
    ProviderState,
    Recommendation,
    RejectReason,
    Role,
    Verdict,
    utcnow,
)
from store.paging import Cursor, Page, page_of
from store.sorting import Order, ordered, sort_key
from store.services import audit_log, platforms
from store.services.application_actions import APPLICATION_RULES
from store.services.platforms import PlatformTerms
from store.text import fold, prefix_range
from store.operation import operation
from store.uow import UnitOfWork, read_session

explain_constraint("ck_platform_application_decider_not_recommender", "application.same_person")
explain_constraint("platform_application_decided", "application.decided")

S = ApplicationState
NOTE_MAX = 2000

# What waits for whom: the queue an operator's Applications area opens on.
ROLE_QUEUES: dict[str, frozenset[str]] = {
    Role.REVIEWER: frozenset({S.SUBMITTED, S.IN_REVIEW, S.NEEDS_INFO}),
    Role.APPROVER: frozenset({S.RECOMMENDED}),
}


def waiting_states(actor: Actor) -> frozenset[str] | None:
    """The states waiting for the actor's roles; None when no role has a queue (show all)."""
    states = frozenset().union(*(ROLE_QUEUES.get(role, frozenset()) for role in actor.roles))
    return states or None


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionView:
    number: int
    suggested: str | None
    verdict: str
    note: str
    set_by: str
    set_at: dt.datetime | None

    @property
    def overridden(self) -> bool:
        return is_override(self.verdict, self.suggested)


@dataclass(frozen=True)
class ApplicationDetail:
    id: int
    version: int
    state: str
    legal_name: str
    brand_name: str
    legal_form: str
    nib: str
    npwp: str
    portal_url: str
    provinces: tuple[str, ...]
    payment_integration: str
    own_group_providers: int
    third_party_providers: int
    licence_ref: str
    deed_ref: str
    ownership_group: str
    contact_name: str
    contact_email: str
    contact_phone: str
    submitted_on: dt.date
    previous_application_id: int | None
    recommendation: str | None
    recommendation_note: str
    recommended_by_id: int | None
    recommended_by: str
    recommended_at: dt.datetime | None
    decided_by: str
    decided_at: dt.datetime | None
    decision_note: str
    reject_reason: str | None
    platform_code: str | None
    provider_id: int | None
    criteria: tuple[CriterionView, ...]

    @property
    def decided(self) -> bool:
        return self.state in DECIDED_STATES

    def verdicts(self) -> dict[int, str]:
        return {criterion.number: criterion.verdict for criterion in self.criteria}


@dataclass(frozen=True)
class ApplicationRow:
    id: int
    brand_name: str
    legal_name: str
    legal_form: str
    state: str
    submitted_on: dt.date
    passed: int
    failed: int
    pending: int  # unchecked or waiting for information
    recommendation: str | None
    sort_key: Cursor


# --- reading ----------------------------------------------------------------------------------

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
    return page_of(views, limit, lambda view: view.sort_key)


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


# --- changing ---------------------------------------------------------------------------------


def _note(note: str, field: str = "note", *, required: bool = True) -> str:
    cleaned = (note or "").strip()
    if required and not cleaned:
        raise InvalidInput("input.required", field=field)
    if len(cleaned) > NOTE_MAX:
        raise InvalidInput("input.too_long", field=field, max=NOTE_MAX)
    return cleaned


def _reject_reason(code: str | None) -> str:
    cleaned = (code or "").strip().lower()
    if not cleaned:
        raise InvalidInput("input.required", field="reason")
    if cleaned not in {reason.value for reason in RejectReason}:
        raise InvalidInput("application.reason_unknown", field="reason", value=code)
    return cleaned


async def _for_change(uow: UnitOfWork, application_id: int, expected_version: int, step: str) -> PlatformApplication:
    """The application, refused when decided, stale, or in a state that does not allow the step
    (application_actions.APPLICATION_RULES); stamped so that the change bumps its version."""
    app = await uow.session.get(PlatformApplication, application_id)
    if app is None:
        raise NotFound("application.not_found", id=application_id)
    if app.state in DECIDED_STATES:
        raise RuleViolation("application.decided")
    if app.version != expected_version:
        raise Conflict("record.changed")
    APPLICATION_RULES[step].enforce(app.state, id=application_id)
    app.updated_at = utcnow()
    return app


def _move(
    uow: UnitOfWork, app: PlatformApplication, action: str, state: str, *, reason: str = "", **details: Any
) -> None:
    """Change the state and record the event (with the extra fields that changed in `details`)."""
    before = {"state": app.state}
    app.state = state
    uow.audit(action, "platform_application", app.id, before=before, after={"state": state},
              details=details or None, reason=reason)


async def _changed(uow: UnitOfWork, application_id: int) -> ApplicationDetail:
    """The application as this unit of work leaves it (new version included)."""
    await uow.session.flush()
    return await _detail(uow.session, application_id)


@operation
async def set_verdict(
    uow: UnitOfWork, application_id: int, number: int, verdict: str, note: str = "",
    *, expected_version: int,
) -> ApplicationDetail:
    """Set one criterion's verdict. A fail, a "needs information" or an override of the suggested
    verdict needs a note. The first verdict puts a submitted application in review."""
    uow.actor.require("application.review")
    if number not in {criterion.value for criterion in Criterion}:
        raise InvalidInput("application.criterion_unknown", field="criterion", value=number)
    if verdict not in {value.value for value in Verdict}:
        raise InvalidInput("application.verdict_unknown", field="verdict", value=verdict)
    note = _note(note, required=False)
    app = await _for_change(uow, application_id, expected_version, "verdict")
    criterion = (
        await uow.session.execute(
            select(ApplicationCriterion).where(
                col(ApplicationCriterion.application_id) == application_id, col(ApplicationCriterion.number) == number
            )
        )
    ).scalar_one()
    if note_required(verdict, criterion.suggested) and not note:
        raise RuleViolation("application.note_required", number=number)
    if app.state == S.SUBMITTED:
        _move(uow, app, "application.review_started", S.IN_REVIEW)
    before = {"verdict": criterion.verdict, "note": criterion.note}
    criterion.verdict, criterion.note = verdict, note
    criterion.set_by, criterion.set_at = uow.actor.operator_id, utcnow()
    uow.audit(
        "application.criterion_set", "platform_application", app.id,
        before=before, after={"verdict": verdict, "note": note},
        details={"criterion": number, "suggested": criterion.suggested,
                 "override": is_override(verdict, criterion.suggested)},
    )
    return await _changed(uow, application_id)


async def _noted_move(
    uow: UnitOfWork, application_id: int, note: str, expected_version: int, step: str, to_state: str, action: str,
) -> ApplicationDetail:
    """A move whose note is the reason (asking for information, recording the answer)."""
    uow.actor.require(APPLICATION_RULES[step].permission)
    note = _note(note)
    app = await _for_change(uow, application_id, expected_version, step)
    _move(uow, app, action, to_state, reason=note)
    return await _changed(uow, application_id)


@operation
async def request_information(
    uow: UnitOfWork, application_id: int, note: str, *, expected_version: int
) -> ApplicationDetail:
    """Ask the applicant for more information (the note says what); the review waits."""
    return await _noted_move(uow, application_id, note, expected_version, "request_info", S.NEEDS_INFO,
                             "application.info_requested")


@operation
async def record_answer(
    uow: UnitOfWork, application_id: int, note: str, *, expected_version: int
) -> ApplicationDetail:
    """The applicant answered (the note says how): the application is back in review."""
    return await _noted_move(uow, application_id, note, expected_version, "answer", S.IN_REVIEW,
                             "application.info_received")


async def _verdicts(session: AsyncSession, application_id: int) -> dict[int, str]:
    rows = await session.execute(
        select(col(ApplicationCriterion.number), col(ApplicationCriterion.verdict)).where(
            col(ApplicationCriterion.application_id) == application_id
        )
    )
    return dict(rows.all())


@operation
async def recommend(
    uow: UnitOfWork, application_id: int, recommendation: str, note: str,
    *, expected_version: int, reject_reason: str | None = None,
) -> ApplicationDetail:
    """A reviewer's recommendation: approve (all seven pass), reject (a reason code and a note) or
    reclassify as a training provider (not a marketplace, but meets what a provider must)."""
    uow.actor.require("application.recommend")
    note = _note(note)
    reason = _reject_reason(reject_reason) if recommendation == Recommendation.REJECT else None
    app = await _for_change(uow, application_id, expected_version, "recommend")
    check_outcome(recommendation, await _verdicts(uow.session, application_id))
    app.recommendation, app.recommendation_note = recommendation, note
    app.recommended_by, app.recommended_at = uow.actor.operator_id, utcnow()
    app.reject_reason_code = reason
    _move(uow, app, "application.recommended", S.RECOMMENDED, reason=note,
          recommendation=recommendation, reject_reason=reason)
    return await _changed(uow, application_id)


@operation
async def send_back(
    uow: UnitOfWork, application_id: int, note: str, *, expected_version: int
) -> ApplicationDetail:
    """An approver returns a recommended application to review (the note says why)."""
    uow.actor.require("application.decide")
    note = _note(note)
    app = await _for_change(uow, application_id, expected_version, "send_back")
    withdrawn = {"recommendation": app.recommendation, "recommended_by": app.recommended_by}
    app.recommendation, app.recommendation_note = None, ""
    app.recommended_by, app.recommended_at, app.reject_reason_code = None, None, None
    _move(uow, app, "application.sent_back", S.IN_REVIEW, reason=note, withdrawn=withdrawn)
    return await _changed(uow, application_id)


# --- deciding ---------------------------------------------------------------------------------

OUTCOME_STATE: dict[str, str] = {
    Recommendation.APPROVE: S.APPROVED,
    Recommendation.REJECT: S.REJECTED,
    Recommendation.RECLASSIFY: S.RECLASSIFIED,
}


@dataclass(frozen=True)
class DecisionPreview:
    """What a decision will do, for the confirmation the approver reads before deciding."""

    application_id: int
    version: int
    outcome: str
    brand_name: str
    legal_name: str
    recommendation: str | None
    terms: PlatformTerms | None  # approve: the platform that will be created
    provider_name: str  # reclassify: the training provider that will be inventoried


async def _check_decision(session: AsyncSession, actor: Actor, app: PlatformApplication, outcome: str) -> None:
    assert app.id is not None  # read
    if app.state in DECIDED_STATES:
        raise RuleViolation("application.decided")
    APPLICATION_RULES["decide"].enforce(app.state, id=app.id)
    if app.recommended_by == actor.operator_id:
        raise RuleViolation("application.same_person")
    check_outcome(outcome, await _verdicts(session, app.id))


async def decision_preview(
    db: Database, actor: Actor, application_id: int, outcome: str, *, today: dt.date | None = None
) -> DecisionPreview:
    """Check that the decision is allowed and say what it will create (nothing is written)."""
    actor.require("application.decide")
    today = today or dt.date.today()
    async with read_session(db) as session:
        app = await session.get(PlatformApplication, application_id)
        if app is None:
            raise NotFound("application.not_found", id=application_id)
        await _check_decision(session, actor, app, outcome)
        terms = await platforms.proposed_terms(session, app, today) if outcome == Recommendation.APPROVE else None
        return DecisionPreview(
            application_id, app.version, outcome, app.brand_name, app.legal_name, app.recommendation, terms,
            app.brand_name if outcome == Recommendation.RECLASSIFY else "",
        )


async def _inventory_provider(uow: UnitOfWork, app: PlatformApplication, note: str) -> Provider:
    """The training provider a reclassified applicant becomes, inventoried from its data."""
    provider = Provider(
        name=app.brand_name, name_key=fold(app.brand_name), legal_form=app.legal_form, nib=app.nib, npwp=app.npwp,
        ownership_group_id=app.ownership_group_id, contact_name=app.contact_name,
        contact_email=app.contact_email, contact_phone=app.contact_phone, state=ProviderState.INVENTORIED,
        state_reason=note, created_by=uow.actor.operator_id,
    )
    uow.session.add(provider)
    await uow.session.flush()
    uow.audit(
        "provider.inventoried", "provider", provider.id,
        after={"name": provider.name, "legal_form": provider.legal_form, "nib": provider.nib, "state": provider.state},
        details={"from_application": app.id}, reason=note,
    )
    return provider


@operation
async def decide(
    uow: UnitOfWork,
    application_id: int,
    outcome: str,
    note: str,
    *,
    expected_version: int,
    reject_reason: str | None = None,
    terms: PlatformTerms | None = None,
    today: dt.date | None = None,
) -> ApplicationDetail:
    """The approver's decision on a recommended application (never by the recommending reviewer).

    approve: creates the platform (with `terms`, default: the proposed ones) and opens its
    obligations; reclassify: inventories a training provider from the application's data;
    reject: needs a reason code. Every decision needs a note."""
    uow.actor.require("application.decide")
    today = today or dt.date.today()
    note = _note(note)
    reason = _reject_reason(reject_reason) if outcome == Recommendation.REJECT else None
    session = uow.session
    app = await session.get(PlatformApplication, application_id)
    if app is None:
        raise NotFound("application.not_found", id=application_id)
    await _check_decision(session, uow.actor, app, outcome)
    if app.version != expected_version:
        raise Conflict("record.changed")
    created: dict[str, object] = {}
    if outcome == Recommendation.APPROVE:
        terms = terms or await platforms.proposed_terms(session, app, today)
        platform = await platforms.onboard(uow, app, terms, today)
        app.platform_id = platform.id
        created = {"platform_id": platform.id, "platform_code": platform.code}
    elif outcome == Recommendation.RECLASSIFY:
        provider = await _inventory_provider(uow, app, note)
        app.provider_id = provider.id
        created = {"provider_id": provider.id}
    app.decided_by, app.decided_at, app.decision_note = uow.actor.operator_id, utcnow(), note
    app.reject_reason_code = reason
    app.updated_at = app.decided_at
    _move(uow, app, "application.decided", OUTCOME_STATE[outcome], reason=note,
          outcome=outcome, recommendation=app.recommendation, reject_reason=reason, **created)
    return await _changed(uow, application_id)
