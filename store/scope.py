"""What platform staff may read: the records of their own platform, decided in one place.

Office staff read everything their roles allow. Platform staff (an Actor with `platform_id`) see a
record only when it belongs to their platform: the platform itself, its obligation items, its
enrollments and fee batches, the providers that propose through it and their courses, its
listings, and the participants who bought a course on it. Read services filter ids through
`visible_ids` (or refuse with `require_visible`) so that no read returns another platform's rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.actor import Actor
from store.errors import PermissionDenied
from store.models import (
    Course,
    CourseListing,
    Enrollment,
    ObligationItem,
    Participant,
    PaymentBatch,
    PayoutAccount,
    ProviderPlatform,
)

# Program-wide records with nothing of any one platform in them.
SHARED = frozenset({"wave"})


def _owned_query(entity: str, platform_id: int) -> Select[int | None] | None:
    """SELECT the ids of `entity` that belong to the platform, or None for an entity platform
    staff never read."""
    if entity == "platform":
        return None  # handled by comparison
    if entity == "obligation_item":
        return select(col(ObligationItem.id)).where(col(ObligationItem.platform_id) == platform_id)
    if entity == "enrollment":
        return select(col(Enrollment.id)).where(col(Enrollment.platform_id) == platform_id)
    if entity == "payment_batch":
        return select(col(PaymentBatch.id)).where(col(PaymentBatch.platform_id) == platform_id)
    if entity == "course_listing":
        return select(col(CourseListing.id)).where(col(CourseListing.platform_id) == platform_id)
    if entity == "provider":
        return select(col(ProviderPlatform.provider_id)).where(col(ProviderPlatform.platform_id) == platform_id)
    if entity == "course":
        return select(col(Course.id)).where(
            exists().where(col(ProviderPlatform.provider_id) == Course.provider_id,
                           col(ProviderPlatform.platform_id) == platform_id)
        )
    if entity == "participant":
        return select(col(Participant.id)).where(
            exists().where(col(Enrollment.participant_id) == Participant.id, col(Enrollment.platform_id) == platform_id)
        )
    if entity == "payout_account":
        # The platform's own account and its providers' accounts; never a participant's bank account.
        return select(col(PayoutAccount.id)).where(
            or_(
                col(PayoutAccount.platform_id) == platform_id,
                exists().where(col(ProviderPlatform.provider_id) == PayoutAccount.provider_id,
                               col(ProviderPlatform.platform_id) == platform_id),
            )
        )
    return None


async def visible_ids(session: AsyncSession, actor: Actor, entity: str, ids: Iterable[int | str]) -> list[str]:
    """The ids (as text, as the audit log keeps them) of `entity` this actor may read."""
    wanted = [str(i) for i in ids]
    platform_id = actor.platform_id
    if platform_id is None or entity in SHARED:  # not platform staff, or nothing of a platform's
        return wanted
    if entity == "platform":
        return [i for i in wanted if i == str(platform_id)]
    numeric = [int(i) for i in wanted if i.isascii() and i.isdigit()]
    query = _owned_query(entity, platform_id)
    if not numeric or query is None:
        return []
    column = query.selected_columns[0]
    owned = {str(value) for value in (await session.execute(query.where(column.in_(numeric)))).scalars() if value is not None}
    return [i for i in wanted if i in owned]


async def require_visible(session: AsyncSession, actor: Actor, entity: str, record_id: int | str) -> None:
    if not await visible_ids(session, actor, entity, [record_id]):
        raise PermissionDenied("permission.other_platform", operator=actor.username)
