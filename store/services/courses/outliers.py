"""The price-outlier report: courses priced far above similar ones, for the curators to question."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.models import Course, CourseState, Provider, ProviderPlatform
from store.text import fold
from store.uow import read_session


# The price-outlier report: a course is an outlier when its price is at least this share of the
# median price of similar courses (same category and mode), among at least MIN_SIMILAR of them.
OUTLIER_FACTOR_PCT = 200
MIN_SIMILAR = 3
# States in which a course competes on price (the outlier report ignores the others).
PRICED_STATES = (CourseState.DRAFT, CourseState.SUBMITTED, CourseState.APPROVED)


@dataclass(frozen=True)
class Outlier:
    course_id: int
    provider_id: int
    title: str
    provider_name: str
    category: str
    mode: str
    price_idr: int
    median_idr: int
    similar: int  # courses in the same category and mode, this one included
    ratio_pct: int  # price as a percentage of the median


async def price_outliers(
    db: Database, actor: Actor, *, factor_pct: int = OUTLIER_FACTOR_PCT, min_similar: int = MIN_SIMILAR
) -> list[Outlier]:
    """Courses priced at least `factor_pct` % of the median of similar courses (same category
    and mode), highest first. Medians are program-wide; platform staff see their own courses."""
    actor.require("course.read")
    query = (
        select(
            col(Course.id), col(Course.provider_id), col(Course.title), col(Provider.name), col(Course.category),
            col(Course.mode), col(Course.price_idr),
        )
        .join(Provider, col(Provider.id) == Course.provider_id)
        .where(col(Course.state).in_(PRICED_STATES))
    )
    async with read_session(db) as session:
        rows = (await session.execute(query)).all()
        own: set[int] | None = None
        if actor.is_platform_staff:
            own = set(
                (
                    await session.execute(
                        select(col(ProviderPlatform.provider_id))
                        .where(col(ProviderPlatform.platform_id) == actor.platform_id)
                    )
                ).scalars()
            )
    groups: dict[tuple[str, str], list[Row[*tuple[Any, ...]]]] = defaultdict(list)
    for row in rows:
        groups[(fold(row.category), row.mode)].append(row)
    outliers = []
    for similar in groups.values():
        if len(similar) < min_similar:
            continue
        median = int(statistics.median(row.price_idr for row in similar))
        for row in similar:
            if own is not None and row.provider_id not in own:
                continue
            if row.price_idr * 100 >= median * factor_pct:
                outliers.append(
                    Outlier(
                        row.id, row.provider_id, row.title, row.name, row.category, row.mode, row.price_idr, median,
                        len(similar), row.price_idr * 100 // median,
                    )
                )
    return sorted(outliers, key=lambda outlier: (-outlier.ratio_pct, outlier.title))
