"""A provider's file as the console shows it: record, documents, scorecard, courses, listings
and history, read together so the screen shows one consistent moment."""

from __future__ import annotations

from dataclasses import dataclass

from store.actor import Actor
from store.allowed import Actions
from store.engine import Database
from store.models import Provider
from store.services import audit_log, courses, curation, providers
from store.services.courses import CourseView, ListingView
from store.services.provider_actions import judge_provider
from store.uow import read_session


@dataclass(frozen=True)
class ProviderFile:
    provider: providers.ProviderView
    scorecard: curation.Scorecard
    # (The classes by name: inside this class `courses` is the field, not the module.)
    courses: tuple[CourseView, ...]
    listings: tuple[ListingView, ...]
    history: tuple[audit_log.EventView, ...]
    may_assess: bool  # the operator may curate it (role and independence)
    actions: Actions  # the decisions the operator may take now, and why not (provider_actions)


async def provider_file(db: Database, actor: Actor, provider_id: int) -> ProviderFile:
    async with read_session(db) as session:
        view = await providers.provider_view(session, actor, provider_id)
        card = await curation.scorecard_of(session, provider_id, view.offers_offline)
        course_views = await courses.courses_of(session, provider_id)
        listings = await courses.listings_of(session, provider_id)
        provider = await session.get(Provider, provider_id)
        assert provider is not None  # provider_view found it, and providers are never deleted
        actions = await judge_provider(session, actor, provider, card)
    events = await audit_log.history(db, actor, "provider", [provider_id])
    if course_views:
        events += await audit_log.history(db, actor, "course", [course.id for course in course_views])
    if listings:
        events += await audit_log.history(db, actor, "course_listing", [listing.id for listing in listings])
    return ProviderFile(
        view, card, tuple(course_views), tuple(listings), tuple(sorted(events, key=lambda event: event.id)),
        await curation.may_assess(db, actor, provider_id), actions,
    )
