"""A provider's curation step by step (start, score, approve, reject), each step one audited transaction."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.errors import InvalidInput, RuleViolation
from store.models import Assessment, AssessmentScore, Provider, ProviderState, utcnow
from store.operation import operation
from store.services import providers
from store.services.curation.independence import require_independent
from store.services.curation.scheme import MAX_SCORE, scheme_for
from store.services.curation.scorecard import Scorecard, build_scorecard, scorecard_of
from store.services.curation.scoring import stage_result
from store.uow import UnitOfWork


async def _provider_to_curate(uow: UnitOfWork, provider_id: int, expected_version: int | None) -> Provider:
    provider = await providers.provider_for_change(uow, provider_id, expected_version)
    await require_independent(uow.session, uow.actor, provider)
    return provider


@operation
async def start_curation(uow: UnitOfWork, provider_id: int, *, expected_version: int | None = None) -> str:
    """Submitted -> in curation, by an independent curator."""
    uow.actor.require("provider.curate")
    provider = await _provider_to_curate(uow, provider_id, expected_version)
    scheme = await scheme_for(uow.session, provider_id)
    providers.move(uow, provider, "start_curation", details={"scheme_version": scheme.version})
    return provider.state


@operation
async def score_indicators(uow: UnitOfWork, provider_id: int, stage: str, scores: Mapping[str, int]) -> Scorecard:
    """Score indicators of one stage (0-4 each); returns the scorecard with the live results.
    The console scores one indicator per key (`score_indicator`); the demo a stage at a time."""
    uow.actor.require("provider.curate")
    session = uow.session
    provider = await _provider_to_curate(uow, provider_id, None)
    if provider.state != ProviderState.IN_CURATION:
        raise RuleViolation("curation.not_in_curation", state=provider.state)
    for score in scores.values():
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= MAX_SCORE:
            raise InvalidInput("input.score", field="score", value=score)
    card = await scorecard_of(session, provider_id, provider.offers_offline)
    try:
        view = card.stage(stage)
    except StopIteration:
        raise InvalidInput("input.stage", field="stage", value=stage) from None
    if not view.applicable:
        raise RuleViolation("curation.stage_not_applicable", stage=stage)
    if not view.open:
        earlier = next(s.stage for s in card.stages if s.applicable and not s.result.passed)
        raise RuleViolation("curation.stage_order", stage=stage, earlier=earlier)
    previous = {item.indicator.code: item.score for item in view.indicators}
    unknown = sorted(set(scores) - set(previous))
    if unknown:
        raise InvalidInput("input.indicator", field="indicator", value=", ".join(unknown))
    scheme = card.scheme
    curators = {view.stage: view.curator for view in card.stages if view.curator}
    if stage in curators:
        assessment = (
            await session.execute(
                select(Assessment).where(col(Assessment.provider_id) == provider_id, col(Assessment.stage) == stage)
            )
        ).scalar_one()
    else:
        curator_id = uow.actor.operator_id
        assert curator_id is not None  # only the system actor has none, and it does not curate
        assessment = Assessment(provider_id=provider_id, stage=stage, scheme_id=scheme.id, curator_id=curator_id)
        session.add(assessment)
        await session.flush()
        curators[stage] = uow.actor.username
    assessment_id = assessment.id
    assert assessment_id is not None  # read or flushed
    for indicator, score in scores.items():
        if previous[indicator] is None:
            session.add(AssessmentScore(assessment_id=assessment_id, indicator=indicator, score=score))
        else:
            scored = await session.get(AssessmentScore, (assessment_id, indicator))
            assert scored is not None  # its previous score was read above
            scored.score = score
    all_scores = card.scores()
    all_scores[stage].update(scores)
    result = stage_result(scheme.rule(stage), all_scores[stage])
    # The stage's recorded outcome exists only once every indicator is scored.
    assessment.score_centi = result.score_centi if result.complete else None
    assessment.passed = result.passed
    assessment.completed_at = utcnow() if result.complete else None
    uow.audit(
        "provider.scored", "provider", provider_id,
        before={code: previous[code] for code in scores}, after=dict(scores),
        details={
            "stage": stage, "scheme_version": scheme.version,
            "stage_score_centi": result.score_centi, "stage_passed": result.passed,
        },
    )
    await session.flush()
    return build_scorecard(provider_id, scheme, all_scores, curators, provider.offers_offline)


@operation
async def score_indicator(uow: UnitOfWork, provider_id: int, stage: str, indicator: str, score: int) -> Scorecard:
    """Score one indicator (the console's key press)."""
    return await score_indicators.within(uow, provider_id, stage, {indicator: score})


async def approval_refusal(session: AsyncSession, provider: Provider, card: Scorecard) -> RuleViolation | None:
    """Why the provider may not be approved on its scorecard and file: an applicable stage not
    passed (with its score and threshold), or its documents; None when it may."""
    for stage in card.stages:
        if stage.applicable and not stage.result.passed:
            return RuleViolation(
                "curation.stage_not_passed", stage=stage.stage,
                score=validators.hundredths_text(stage.result.score_centi),
                threshold=validators.hundredths_text(stage.threshold_centi),
            )
    return await providers.documents_refusal(session, provider)


@operation
async def approve_provider(uow: UnitOfWork, provider_id: int, *, note: str = "", expected_version: int | None = None) -> str:
    """In curation -> approved: every applicable stage passed, every document present."""
    uow.actor.require("provider.decide")
    provider = await _provider_to_curate(uow, provider_id, expected_version)
    if provider.state == ProviderState.IN_CURATION:
        card = await scorecard_of(uow.session, provider_id, provider.offers_offline)
        refused = await approval_refusal(uow.session, provider, card)
        if refused is not None:
            raise refused
        details = {
            "scheme_version": card.scheme_version,
            "stages": {s.stage: s.result.score_centi for s in card.stages if s.applicable},
        }
    else:
        details = None
    providers.move(uow, provider, "approve", note, details=details)
    return provider.state


@operation
async def reject_provider(uow: UnitOfWork, provider_id: int, reason: str, *, expected_version: int | None = None) -> str:
    """Submitted or in curation -> rejected, with the reason."""
    uow.actor.require("provider.decide")
    provider = await _provider_to_curate(uow, provider_id, expected_version)
    providers.move(uow, provider, "reject", reason)
    return provider.state
