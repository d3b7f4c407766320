"""Who may curate a provider: the store refuses a curator tied to its platforms or its ownership group."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import InvalidInput, NotFound, RuleViolation
from store.models import Operator, OwnershipGroup, Platform, Provider, ProviderPlatform
from store.operation import get_held, operation
from store.uow import UnitOfWork, read_session


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
