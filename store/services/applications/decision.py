"""The approver's decision (maker-checker): what it will create, then the platform or provider created."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.criteria import check_outcome
from store.engine import Database
from store.errors import Conflict, NotFound, RuleViolation
from store.failures import explain_constraint
from store.models import (
    DECIDED_STATES,
    ApplicationState as S,
    PlatformApplication,
    Provider,
    ProviderState,
    Recommendation,
    utcnow,
)
from store.operation import operation
from store.services import platforms
from store.services.application_actions import APPLICATION_RULES
from store.services.applications.review import _changed, _move, _note, _reject_reason, _verdicts
from store.services.applications.views import ApplicationDetail
from store.services.platforms import PlatformTerms
from store.text import fold
from store.uow import UnitOfWork, read_session


explain_constraint("ck_platform_application_decider_not_recommender", "application.same_person")
explain_constraint("platform_application_decided", "application.decided")


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
