"""The curator's work list: providers waiting for curation that this curator may assess."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import RuleViolation
from store.models import Provider, ProviderState
from store.services.curation.independence import require_independent
from store.uow import read_session


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
