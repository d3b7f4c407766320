"""The scheme curators score against, kept in versions so an assessment keeps the rules it started with."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound
from store.models import Assessment, AssessmentScheme, CurationStage
from store.operation import operation
from store.uow import UnitOfWork, read_session


STAGE_ORDER: tuple[CurationStage, ...] = tuple(CurationStage)
MAX_SCORE = 4


def applicable_stages(offers_offline: bool) -> tuple[CurationStage, ...]:
    """The facilities check applies only to providers that deliver offline."""
    return tuple(s for s in STAGE_ORDER if offers_offline or s != CurationStage.FACILITIES)


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
