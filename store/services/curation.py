"""Staged curation of providers by independent curators, under a versioned scheme.

Stages run in order: due diligence, governance, course assessment, and a facilities check for
providers that deliver offline. Each stage has indicators scored 0-4 with weights; a stage
passes when its weighted score reaches the stage's threshold; approval needs every applicable
stage passed. The indicators, weights and thresholds are configuration: an admin writes a new
scheme version, and a provider's assessments keep the version they started with.

Independence (KPK found the proposing platform curating its own providers): a curator scoped
to a platform, or affiliated with the provider's ownership group or with the group of a
platform that proposed it, may not assess that provider. The store refuses it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store import validators
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.models import (
    Assessment,
    AssessmentScheme,
    AssessmentScore,
    CurationStage,
    Operator,
    OwnershipGroup,
    Platform,
    Provider,
    ProviderPlatform,
    ProviderState,
    utcnow,
)
from store.operation import get_held, operation
from store.services import providers
from store.uow import UnitOfWork, read_session

STAGE_ORDER: tuple[CurationStage, ...] = tuple(CurationStage)
MAX_SCORE = 4


def applicable_stages(offers_offline: bool) -> tuple[CurationStage, ...]:
    """The facilities check applies only to providers that deliver offline."""
    return tuple(s for s in STAGE_ORDER if offers_offline or s != CurationStage.FACILITIES)


# --- the scheme -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    code: str
    weight: int
    label_en: str
    label_id: str

    def label(self, language: str) -> str:
        return self.label_id if language == "id" else self.label_en


@dataclass(frozen=True)
class StageRule:
    stage: str
    threshold_centi: int  # hundredths of a point: 250 = 2.50
    indicators: tuple[Indicator, ...]

    @property
    def total_weight(self) -> int:
        return sum(indicator.weight for indicator in self.indicators)


@dataclass(frozen=True)
class Scheme:
    id: int
    version: int
    stages: tuple[StageRule, ...]

    def rule(self, stage: str) -> StageRule:
        return next(rule for rule in self.stages if rule.stage == stage)


def parse_stages(data: Any) -> tuple[StageRule, ...]:
    """Validate a scheme's stages (as written in the JSON file); every stage must be present."""
    if not isinstance(data, dict):
        raise InvalidInput("input.scheme", field="scheme", problem="not an object of stages")
    unknown = sorted(set(data) - set(STAGE_ORDER))
    missing = [stage.value for stage in STAGE_ORDER if stage not in data]
    if unknown or missing:
        raise InvalidInput("input.scheme", field="scheme", problem=f"stages unknown: {unknown}, missing: {missing}")
    rules = []
    for stage in STAGE_ORDER:
        entry = data[stage]
        where = f"{stage.value}"
        threshold = entry.get("threshold_centi") if isinstance(entry, dict) else None
        if not isinstance(threshold, int) or isinstance(threshold, bool) or not 0 <= threshold <= MAX_SCORE * 100:
            raise InvalidInput("input.scheme", field="scheme", problem=f"{where}: threshold_centi must be 0 to 400")
        indicators = []
        for item in entry.get("indicators") or []:
            code = str(item.get("code", "")).strip() if isinstance(item, dict) else ""
            weight = item.get("weight") if isinstance(item, dict) else None
            label = item.get("label") if isinstance(item, dict) else None
            if not code or not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
                raise InvalidInput("input.scheme", field="scheme", problem=f"{where}: each indicator needs a code and a positive integer weight")
            if not isinstance(label, dict) or not label.get("en") or not label.get("id"):
                raise InvalidInput("input.scheme", field="scheme", problem=f"{where}.{code}: label needs en and id")
            indicators.append(Indicator(code, weight, str(label["en"]), str(label["id"])))
        codes = [indicator.code for indicator in indicators]
        if not indicators or len(set(codes)) != len(codes):
            raise InvalidInput("input.scheme", field="scheme", problem=f"{where}: indicators missing or repeated")
        rules.append(StageRule(stage.value, threshold, tuple(indicators)))
    return tuple(rules)


def stages_json(rules: tuple[StageRule, ...]) -> dict[str, Any]:
    """The scheme's stages in the file format (the inverse of parse_stages)."""
    return {
        rule.stage: {
            "threshold_centi": rule.threshold_centi,
            "indicators": [
                {"code": i.code, "weight": i.weight, "label": {"en": i.label_en, "id": i.label_id}}
                for i in rule.indicators
            ],
        }
        for rule in rules
    }


@functools.lru_cache(maxsize=32)
def _parsed(stages_text: str) -> tuple[StageRule, ...]:
    # A scheme version never changes once written: its text parses to the same rules.
    return parse_stages(json.loads(stages_text))


def _scheme(row: AssessmentScheme) -> Scheme:
    assert row.id is not None  # read
    return Scheme(row.id, row.version, _parsed(row.stages))


async def latest_scheme(session: AsyncSession) -> Scheme:
    row = (
        await session.execute(select(AssessmentScheme).order_by(col(AssessmentScheme.version).desc()).limit(1))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("curation.no_scheme")
    return _scheme(row)


async def scheme_for(session: AsyncSession, provider_id: int) -> Scheme:
    """The version the provider's curation started with, else the newest one (asked once a
    session: the first assessment takes the newest version, which is what this returns)."""
    known: dict[int, Scheme] = session.info.setdefault("provider_scheme", {})
    if provider_id not in known:
        known[provider_id] = await _scheme_for(session, provider_id)
    return known[provider_id]


async def _scheme_for(session: AsyncSession, provider_id: int) -> Scheme:
    row = (
        await session.execute(
            select(AssessmentScheme)
            .join(Assessment, col(Assessment.scheme_id) == AssessmentScheme.id)
            .where(col(Assessment.provider_id) == provider_id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return _scheme(row) if row is not None else await latest_scheme(session)


async def get_scheme(db: Database, actor: Actor, version: int | None = None) -> Scheme:
    actor.require("provider.read")
    async with read_session(db) as session:
        if version is None:
            return await latest_scheme(session)
        row = (
            await session.execute(select(AssessmentScheme).where(col(AssessmentScheme.version) == version))
        ).scalar_one_or_none()
        if row is None:
            raise NotFound("curation.no_such_scheme", version=version)
        return _scheme(row)


@operation
async def change_scheme(uow: UnitOfWork, stages: Mapping[str, Any]) -> Scheme:
    """Write a new version of the scheme; assessments already started keep theirs."""
    uow.actor.require("scheme.change")
    rules = parse_stages(dict(stages))
    session = uow.session
    current = (await session.execute(select(func.max(AssessmentScheme.version)))).scalar_one() or 0
    row = AssessmentScheme(
        version=current + 1, stages=json.dumps(stages_json(rules), sort_keys=True), created_by=uow.actor.operator_id
    )
    session.add(row)
    await session.flush()
    assert row.id is not None  # flushed
    uow.audit(
        "curation.scheme_changed", "assessment_scheme", row.id,
        before={"version": current}, after={"version": row.version}, details={"stages": stages_json(rules)},
    )
    return Scheme(row.id, row.version, rules)


def threshold_centi(value: str, field: str = "threshold") -> int:
    """A threshold typed in points ("2.75", "2,5", "3") as hundredths of a point, 0 to 4."""
    centi = validators.hundredths(str(value or ""))
    if centi is None or not 0 <= centi <= MAX_SCORE * 100:
        raise InvalidInput("input.threshold", field=field, value=value)
    return centi


def indicator_weight(value: str, field: str = "weight") -> int:
    """An indicator's weight: a whole number above zero."""
    weight = validators.count(value, field)
    if weight <= 0:
        raise InvalidInput("input.count_positive", field=field, value=value)
    return weight


@operation
async def tune_scheme(
    uow: UnitOfWork, based_on: int, stage: str, *,
    threshold: str | None = None, indicator: str | None = None, weight: str | None = None,
) -> Scheme:
    """A new scheme version with one stage's threshold or one indicator's weight changed, as an
    admin does it in the console. `based_on` is the version the admin was looking at: if another
    version was written since, the change is refused rather than silently undoing it."""
    uow.actor.require("scheme.change")
    current = await latest_scheme(uow.session)
    if current.version != based_on:
        raise Conflict("record.changed")
    stages = stages_json(current.stages)
    if stage not in stages:
        raise InvalidInput("input.scheme", field="scheme", problem=f"no stage {stage}")
    if threshold is not None:
        stages[stage]["threshold_centi"] = threshold_centi(threshold)
    if indicator is not None:
        entry = next((item for item in stages[stage]["indicators"] if item["code"] == indicator), None)
        if entry is None:
            raise InvalidInput("input.scheme", field="scheme", problem=f"no indicator {indicator} in {stage}")
        entry["weight"] = indicator_weight(weight or "")
    return await change_scheme.within(uow, stages)


# --- scoring (pure) ---------------------------------------------------------------------------


def _weighted_centi(total: int, weights: int) -> int:
    """Weighted mean in hundredths of a point, rounded half up, in integers."""
    return (200 * total + weights) // (2 * weights) if weights else 0


@dataclass(frozen=True)
class StageResult:
    scored: int
    total: int
    score_centi: int | None  # weighted mean of the indicators scored so far
    threshold_centi: int
    best_centi: int  # if every unscored indicator got 4
    worst_centi: int  # if every unscored indicator got 0

    @property
    def complete(self) -> bool:
        return self.scored == self.total

    @property
    def passed(self) -> bool | None:
        """True or False once every indicator is scored; None before."""
        if not self.complete:
            return None
        assert self.score_centi is not None  # every indicator scored (a stage has at least one)
        return self.score_centi >= self.threshold_centi

    @property
    def outlook(self) -> str:
        """The live verdict: pass / fail (settled, even before the last score) or open."""
        if self.worst_centi >= self.threshold_centi:
            return "pass"
        if self.best_centi < self.threshold_centi:
            return "fail"
        return "open"


def stage_result(rule: StageRule, scores: Mapping[str, int]) -> StageResult:
    weights = rule.total_weight
    scored = [i for i in rule.indicators if i.code in scores]
    scored_weights = sum(i.weight for i in scored)
    points = sum(i.weight * scores[i.code] for i in scored)
    unscored_weights = weights - scored_weights
    return StageResult(
        scored=len(scored),
        total=len(rule.indicators),
        score_centi=_weighted_centi(points, scored_weights) if scored else None,
        threshold_centi=rule.threshold_centi,
        best_centi=_weighted_centi(points + MAX_SCORE * unscored_weights, weights),
        worst_centi=_weighted_centi(points, weights),
    )


# --- the scorecard ----------------------------------------------------------------------------


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


# --- independence ------------------------------------------------------------------------------


async def independence_refusal(session: AsyncSession, actor: Actor, provider: Provider) -> RuleViolation | None:
    """Why the curator may not assess this provider: scoped to a platform, or affiliated with the
    provider's ownership group or the group of a platform that proposed it; None when independent."""
    operator = await get_held(session, Operator, actor.operator_id) if actor.operator_id else None
    if actor.platform_id is not None or (operator is not None and operator.platform_id is not None):
        return RuleViolation("curation.curator_platform_scoped", curator=actor.username)
    group_id = operator.ownership_group_id if operator is not None else None
    if group_id is None:
        return None
    proposer_groups = set(
        (
            await session.execute(
                select(col(Platform.ownership_group_id))
                .join(ProviderPlatform, col(ProviderPlatform.platform_id) == Platform.id)
                .where(col(ProviderPlatform.provider_id) == provider.id)
            )
        ).scalars()
    )
    if group_id == provider.ownership_group_id or group_id in proposer_groups:
        group = await session.get(OwnershipGroup, group_id)
        assert group is not None  # the operator's group (a foreign key)
        return RuleViolation("curation.curator_affiliated", curator=actor.username, group=group.name)
    return None


async def require_independent(session: AsyncSession, actor: Actor, provider: Provider) -> None:
    refused = await independence_refusal(session, actor, provider)
    if refused is not None:
        raise refused


async def may_assess(db: Database, actor: Actor, provider_id: int) -> bool:
    """Whether the operator may curate this provider (for the console's keys)."""
    if not actor.can("provider.curate"):
        return False
    async with read_session(db) as session:
        provider = await session.get(Provider, provider_id)
        if provider is None:
            return False
        try:
            await require_independent(session, actor, provider)
        except RuleViolation:
            return False
    return True


@operation
async def declare_affiliation(uow: UnitOfWork, username: str, group_code: str | None, reason: str) -> str | None:
    """Record (or clear, with None) the ownership group an operator is affiliated with."""
    uow.actor.require("curator.affiliation")
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("input.required", field="reason")
    operator = (
        await uow.session.execute(select(Operator).where(col(Operator.username) == username.strip().lower()))
    ).scalar_one_or_none()
    if operator is None:
        raise NotFound("operator.not_found", username=username)
    group_id = None
    if group_code:
        group_id = (
            await uow.session.execute(
                select(col(OwnershipGroup.id)).where(col(OwnershipGroup.code) == group_code.strip().lower())
            )
        ).scalar_one_or_none()
        if group_id is None:
            raise NotFound("ownership_group.not_found", code=group_code)
    before = {"ownership_group_id": operator.ownership_group_id}
    operator.ownership_group_id = group_id
    uow.audit(
        "operator.affiliation_declared", "operator", operator.id, before=before,
        after={"ownership_group_id": group_id}, details={"group": group_code or None}, reason=reason,
    )
    return group_code or None


# --- curation operations ----------------------------------------------------------------------


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


# --- the curation queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    provider_id: int
    name: str
    state: str


async def curation_queue(db: Database, actor: Actor) -> list[QueueEntry]:
    """Providers waiting for curation, oldest first, without those the curator may not assess
    (a few hundred at most: the program's providers number in the hundreds)."""
    actor.require("provider.curate")
    async with read_session(db) as session:
        candidates = (
            await session.execute(
                select(Provider)
                .where(col(Provider.state).in_([ProviderState.SUBMITTED, ProviderState.IN_CURATION]))
                .order_by(col(Provider.id))
            )
        ).scalars().all()
        queue = []
        for provider in candidates:
            try:
                await require_independent(session, actor, provider)
            except RuleViolation:
                continue
            assert provider.id is not None  # read
            queue.append(QueueEntry(provider.id, provider.name, provider.state))
    return queue
