"""The review of an application, verdict by verdict up to a recommendation, each step one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.criteria import check_outcome, is_override, note_required
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.models import (
    DECIDED_STATES,
    ApplicationCriterion,
    ApplicationState as S,
    Criterion,
    PlatformApplication,
    Recommendation,
    RejectReason,
    Verdict,
    utcnow,
)
from store.operation import operation
from store.services.application_actions import APPLICATION_RULES
from store.services.applications.reading import _detail
from store.services.applications.views import ApplicationDetail
from store.uow import UnitOfWork


NOTE_MAX = 2000


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
