"""A provider's scorecard (its scheme and the scores given so far), for the screen, scoring and approval."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.models import Assessment, AssessmentScore, Operator
from store.services import providers
from store.services.curation.scheme import Indicator, Scheme, applicable_stages, scheme_for
from store.services.curation.scoring import StageResult, stage_result
from store.uow import read_session


@dataclass(frozen=True)
class IndicatorScore:
    indicator: Indicator
    score: int | None


@dataclass(frozen=True)
class StageView:
    stage: str
    applicable: bool
    open: bool  # every earlier applicable stage passed: this one may be scored
    threshold_centi: int
    indicators: tuple[IndicatorScore, ...]
    result: StageResult
    curator: str


@dataclass(frozen=True)
class Scorecard:
    provider_id: int
    scheme: Scheme
    stages: tuple[StageView, ...]

    @property
    def scheme_version(self) -> int:
        return self.scheme.version

    @property
    def all_passed(self) -> bool:
        return all(stage.result.passed for stage in self.stages if stage.applicable)

    def stage(self, stage: str) -> StageView:
        return next(view for view in self.stages if view.stage == stage)

    def scores(self) -> dict[str, dict[str, int]]:
        return {
            view.stage: {item.indicator.code: item.score for item in view.indicators if item.score is not None}
            for view in self.stages
        }


def build_scorecard(
    provider_id: int, scheme: Scheme, scores: Mapping[str, Mapping[str, int]], curators: Mapping[str, str],
    offers_offline: bool,
) -> Scorecard:
    """The scorecard for these scores (pure: the live results after each score come from here)."""
    applicable = applicable_stages(offers_offline)
    views = []
    earlier_passed = True
    for rule in scheme.stages:
        stage_scores = scores.get(rule.stage, {})
        result = stage_result(rule, stage_scores)
        is_applicable = rule.stage in applicable
        views.append(
            StageView(
                rule.stage, is_applicable, is_applicable and earlier_passed, rule.threshold_centi,
                tuple(IndicatorScore(i, stage_scores.get(i.code)) for i in rule.indicators),
                result, curators.get(rule.stage, ""),
            )
        )
        if is_applicable:
            earlier_passed = earlier_passed and bool(result.passed)
    return Scorecard(provider_id, scheme, tuple(views))


async def scorecard_of(session: AsyncSession, provider_id: int, offers_offline: bool) -> Scorecard:
    scheme = await scheme_for(session, provider_id)
    rows = await session.execute(
        select(
            col(Assessment.stage), col(Operator.username), col(AssessmentScore.indicator), col(AssessmentScore.score)
        )
        .join(Operator, col(Operator.id) == Assessment.curator_id)
        .outerjoin(AssessmentScore, col(AssessmentScore.assessment_id) == Assessment.id)
        .where(col(Assessment.provider_id) == provider_id)
    )
    scores: dict[str, dict[str, int]] = {}
    curators: dict[str, str] = {}
    for stage, curator, indicator, score in rows:
        curators[stage] = curator
        if indicator is not None:
            scores.setdefault(stage, {})[indicator] = score
    return build_scorecard(provider_id, scheme, scores, curators, offers_offline)


async def get_scorecard(db: Database, actor: Actor, provider_id: int) -> Scorecard:
    async with read_session(db) as session:
        view = await providers.provider_view(session, actor, provider_id)
        return await scorecard_of(session, provider_id, view.offers_offline)
