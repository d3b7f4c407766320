"""Reading providers: the list and its count, one provider's view, and the choices forms and filters offer."""

from __future__ import annotations

from typing import TypeVarTuple

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.counting import Count, count_of
from store.engine import Database
from store.errors import NotFound
from store.models import OwnershipGroup, Platform, Provider, ProviderDocument, ProviderPlatform
from store.paging import Cursor, Page, page_of
from store.services.providers.scope import require_scope
from store.services.providers.states import DOCUMENT_ORDER
from store.services.providers.views import (
    PROVIDER_ORDERS,
    Choice,
    PlatformRef,
    ProviderFilter,
    ProviderRow,
    ProviderView,
    document_view,
)
from store.sorting import ordered, sort_key
from store.text import prefix_range
from store.uow import read_session

Ts = TypeVarTuple("Ts")


async def _platform_codes(session: AsyncSession, provider_ids: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    if not provider_ids:
        return codes
    rows = await session.execute(
        select(col(ProviderPlatform.provider_id), col(Platform.code))
        .join(Platform, col(Platform.id) == col(ProviderPlatform.platform_id))
        .where(col(ProviderPlatform.provider_id).in_(provider_ids))
        .order_by(col(Platform.code))
    )
    for provider_id, code in rows:
        codes.setdefault(provider_id, []).append(code)
    return codes


def _listed(query: Select[*Ts], actor: Actor, filters: ProviderFilter) -> Select[*Ts]:
    """`query` over provider narrowed by `filters` and by platform staff's scope (the page and its count)."""
    platform_id = actor.platform_id if actor.is_platform_staff else filters.platform_id
    if platform_id is not None:
        query = query.where(
            exists().where(
                col(ProviderPlatform.provider_id) == col(Provider.id), col(ProviderPlatform.platform_id) == platform_id
            )
        )
    if filters.state:
        query = query.where(col(Provider.state) == filters.state)
    if filters.province:
        query = query.where(col(Provider.province_code) == filters.province)
    search = filters.search.strip()
    if search:
        digits = search.replace(".", "").replace("-", "").replace(" ", "")
        if validators.is_digits(digits):
            query = query.where(col(Provider.nib) >= digits, col(Provider.nib) < digits + "\uffff")
        else:
            low, high = prefix_range(search)
            query = query.where(col(Provider.name_key) >= low, col(Provider.name_key) < high)
    return query


async def list_providers(
    db: Database, actor: Actor, filters: ProviderFilter, cursor: Cursor | None = None, limit: int = 100
) -> Page[ProviderRow]:
    """One keyset page in the filter's order; platform staff see only their platform's providers."""
    actor.require("provider.read")
    query = _listed(select(
        col(Provider.id), col(Provider.name), col(Provider.nib), col(Provider.state), col(Provider.province_code),
        col(Provider.offers_offline),
    ), actor, filters)
    async with read_session(db) as session:
        rows = (await session.execute(ordered(query, PROVIDER_ORDERS, filters.sort, cursor, limit))).all()
        page = page_of(rows, limit, sort_key, cursor=cursor)
        codes = await _platform_codes(session, [row.id for row in page.rows])
    return page.with_rows(
        [
            ProviderRow(
                row.id, row.name, row.nib, row.state, row.province_code, row.offers_offline,
                # Which other platforms propose a provider is their business, not platform staff's.
                ", ".join(c for c in codes.get(row.id, []) if not actor.is_platform_staff or c == actor.platform_code),
            )
            for row in page.rows
        ],
    )


async def count_providers(db: Database, actor: Actor, filters: ProviderFilter) -> Count:
    """How many providers the list under `filters` holds, in the actor's scope (store/counting.py)."""
    actor.require("provider.read")
    async with read_session(db) as session:
        return await count_of(session, _listed(select(col(Provider.id)), actor, filters))


async def provider_view(session: AsyncSession, actor: Actor, provider_id: int) -> ProviderView:
    """The provider with its platforms and documents (for reads inside a session)."""
    actor.require("provider.read")
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("provider.not_found", id=provider_id)
    await require_scope(session, actor, provider_id)
    platforms = (
        await session.execute(
            select(col(Platform.id), col(Platform.code), col(Platform.name))
            .join(ProviderPlatform, col(ProviderPlatform.platform_id) == col(Platform.id))
            .where(col(ProviderPlatform.provider_id) == provider_id)
            .order_by(col(Platform.code))
        )
    ).all()
    group = (
        await session.get(OwnershipGroup, provider.ownership_group_id) if provider.ownership_group_id else None
    )
    documents = sorted(
        (
            await session.execute(select(ProviderDocument).where(col(ProviderDocument.provider_id) == provider_id))
        ).scalars(),
        key=lambda document: DOCUMENT_ORDER.index(document.kind),
    )
    return ProviderView(
        provider_id, provider.version, provider.name, provider.legal_form, provider.nib, provider.npwp,
        provider.province_code, provider.address, provider.offers_online, provider.offers_offline,
        provider.founded_on, provider.ownership_group_id, group.name if group else "",
        tuple(PlatformRef(row.id, row.code, row.name) for row in platforms), provider.contact_name,
        provider.contact_email, provider.contact_phone, provider.state, provider.state_reason,
        tuple(document_view(document) for document in documents),
    )


async def get_provider(db: Database, actor: Actor, provider_id: int) -> ProviderView:
    async with read_session(db) as session:
        return await provider_view(session, actor, provider_id)


async def platform_choices(db: Database, actor: Actor) -> list[Choice]:
    """Platforms for filters and forms (platform staff: their own only)."""
    query = select(col(Platform.id), col(Platform.code), col(Platform.name)).order_by(col(Platform.name))
    if actor.is_platform_staff:
        query = query.where(col(Platform.id) == actor.platform_id)
    async with read_session(db) as session:
        return [Choice(row.id, row.code, row.name) for row in await session.execute(query)]


async def group_choices(db: Database, actor: Actor) -> list[Choice]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(col(OwnershipGroup.id), col(OwnershipGroup.code), col(OwnershipGroup.name))
            .order_by(col(OwnershipGroup.name))
        )
        return [Choice(row.id, row.code, row.name) for row in rows]
