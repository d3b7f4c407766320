"""Building providers and courses through the services, for the providers area's tests."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from sqlalchemy import select

from store.actor import Actor
from store.engine import Database
from store.models import AuditEvent, DocumentKind, Platform
from store.services import courses, curation, providers
from store.uow import read_session

_nibs = itertools.count(1)
ALL_DOCUMENTS = tuple(kind.value for kind in DocumentKind)
TWO_YEARS_AGO = dt.date.today() - dt.timedelta(days=730)


def fields(name: str = "", *, offline: bool = False, online: bool = True, **overrides) -> providers.ProviderFields:
    number = next(_nibs)
    values = {
        "name": name or f"Lembaga Pelatihan {number}",
        "legal_form": "pt",
        "nib": f"{9_100_000_000_000 + number}",
        "npwp": f"{10_000_000_000_000 + number:015d}",
        "province": "31",
        "address": "Jl. Merdeka 1, Jakarta",
        "online": online,
        "offline": offline,
        "founded_on": TWO_YEARS_AGO,
        "contact_name": "Ibu Sari",
        "contact_email": "sari@contoh.id",
        "contact_phone": "081234567890",
    }
    values.update(overrides)
    return providers.provider_fields(values)


async def inventoried(
    db: Database, actor: Actor, *, platforms=("tokopedia",), documents=ALL_DOCUMENTS, group=None, **field_overrides
) -> int:
    row = await providers.inventory_provider(
        db, actor, fields(**field_overrides), platform_codes=platforms, ownership_group=group,
        documents_present=documents,
    )
    return row.id


async def submitted(db: Database, actors, **kwargs) -> int:
    """Inventoried and submitted by the platform's staff (by the office for several platforms)."""
    platforms = kwargs.get("platforms", ("tokopedia",))
    actor = actors[platforms[0]] if len(platforms) == 1 else actors.admin
    provider_id = await inventoried(db, actor, **kwargs)
    await providers.submit_provider(db, actor, provider_id)
    return provider_id


async def score_stage(db: Database, curator: Actor, provider_id: int, stage: str, score: int) -> curation.Scorecard:
    card = await curation.get_scorecard(db, curator, provider_id)
    for item in card.stage(stage).indicators:
        card = await curation.score_indicator(db, curator, provider_id, stage, item.indicator.code, score)
    return card


async def curated(db: Database, actors, score: int = 4, **kwargs) -> int:
    """A provider in curation with every applicable stage scored `score`."""
    provider_id = await submitted(db, actors, **kwargs)
    await curation.start_curation(db, actors.curator, provider_id)
    card = await curation.get_scorecard(db, actors.curator, provider_id)
    for stage in card.stages:
        if stage.applicable:
            await score_stage(db, actors.curator, provider_id, stage.stage, score)
    return provider_id


async def approved(db: Database, actors, **kwargs) -> int:
    provider_id = await curated(db, actors, **kwargs)
    await curation.approve_provider(db, actors.curator, provider_id)
    return provider_id


def course_fields(**overrides) -> courses.CourseFields:
    values = {
        "title": "Digital Marketing untuk UMKM",
        "category": "Pemasaran",
        "mode": "webinar",
        "hours": "12",
        "price": "900000",
        "outside_price": "1000000",
        "free_elsewhere": False,
        "interactive": True,
    }
    values.update(overrides)
    return courses.course_fields(values)


async def approved_course(db: Database, actors, provider_id: int, platform: str = "tokopedia", **overrides) -> int:
    course = await courses.create_course(db, actors[platform], provider_id, course_fields(**overrides))
    await courses.submit_course(db, actors[platform], course.id)
    await courses.approve_course(db, actors.curator, course.id)
    return course.id


async def platform_id(db: Database, code: str) -> int:
    async with read_session(db) as session:
        return (await session.execute(select(Platform.id).where(Platform.code == code))).scalar_one()


async def events(db: Database, action_prefix: str = "", entity_id=None) -> list[AuditEvent]:
    """Audit events, oldest first, whose action starts with `action_prefix`."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action_prefix:
        query = query.where(AuditEvent.action.startswith(action_prefix))
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    async with read_session(db) as session:
        return list((await session.execute(query)).scalars())


def changes(event: AuditEvent) -> dict:
    return json.loads(event.changes)
