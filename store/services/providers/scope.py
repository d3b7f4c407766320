"""Which providers an operator may touch, and the checked change of one: its state's move, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.errors import Conflict, InvalidInput, NotFound, RuleViolation
from store.models import Provider, ProviderPlatform
from store.operation import get_held
from store.services.providers.states import REASONED, TRANSITIONS
from store.uow import UnitOfWork


async def platform_ids_of(session: AsyncSession, provider_id: int) -> frozenset[int]:
    """The proposing platforms, remembered for the rest of the session (a unit of work that
    touches one provider many times, like the demo builder's, asks once)."""
    known: dict[int, frozenset[int]] = session.info.setdefault("provider_platforms", {})
    if provider_id not in known:
        rows = await session.execute(
            select(col(ProviderPlatform.platform_id)).where(col(ProviderPlatform.provider_id) == provider_id)
        )
        known[provider_id] = frozenset(rows.scalars())
    return known[provider_id]


async def require_scope(session: AsyncSession, actor: Actor, provider_id: int) -> None:
    """Platform staff touch only providers their platform proposed."""
    if actor.is_platform_staff:
        actor.require_platform(await platform_ids_of(session, provider_id))


async def provider_for_change(uow: UnitOfWork, provider_id: int, expected_version: int | None = None) -> Provider:
    """The provider to change, after the scope and optimistic-lock checks."""
    provider = await get_held(uow.session, Provider, provider_id)
    if provider is None:
        raise NotFound("provider.not_found", id=provider_id)
    await require_scope(uow.session, uow.actor, provider_id)
    if expected_version is not None and provider.version != expected_version:
        raise Conflict("record.changed")
    return provider


def move(
    uow: UnitOfWork, provider: Provider, action: str, reason: str = "", details: dict[str, Any] | None = None
) -> None:
    """Change the provider's state by `action` (see TRANSITIONS) and audit it.

    The UPDATE is guarded by the row's version (SQLAlchemy's version_id_col), so a concurrent
    change of the same provider makes this transaction fail instead of overwriting it.
    """
    transition = TRANSITIONS[action]
    if provider.state not in transition.sources:
        raise RuleViolation(f"provider.transition.{action}", state=provider.state, name=provider.name)
    reason = " ".join((reason or "").split())
    if action in REASONED and not reason:
        raise InvalidInput("input.required", field="reason")
    before = {"state": provider.state, "state_reason": provider.state_reason}
    provider.state = transition.target
    provider.state_reason = reason
    uow.audit(
        transition.event, "provider", provider.id, before=before,
        after={"state": transition.target.value, "state_reason": reason}, details=details, reason=reason,
    )
