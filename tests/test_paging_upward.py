"""End, then PgUp: every paged list reads the same from its last page upward as from its first
page downward (the same rows, in the same order), in every order it offers and under its filters.

A list of 20,000,000 has no "last row loaded" to jump to: its last page is one keyset page read
the other way along the same index (store/paging.py). A list service that forgot to pass its
cursor on would read the top of the list as its bottom; this catches it, for every service that
pages, including ones added later."""

from __future__ import annotations

import inspect

from sqlalchemy import text

from store.paging import LAST_PAGE
from store.services.applications.reading import APPLICATION_ORDERS
from store.services.audit_log import AUDIT_SORTS, EventFilter
from store.services.payments.browse import BATCH_ORDERS, BatchFilter
from store.services.providers.views import PROVIDER_ORDERS, ProviderFilter
from store.services.registry import PARTICIPANT_ORDERS, ParticipantFilter
from tests.conftest import Actors
from tests.test_read_scope import services



async def _first(db, sql: str):
    async with db.engine.connect() as connection:
        return (await connection.execute(text(sql))).scalar_one()


async def _variants(db) -> dict[str, list[dict]]:
    """For each paging service, the arguments of the lists to read (every order, some filters)."""
    batch = await _first(db, "SELECT batch_id FROM payment_line GROUP BY batch_id ORDER BY count(*) DESC LIMIT 1")
    wave = await _first(db, "SELECT min(w.number) FROM wave w JOIN selection_rejection r ON r.wave_id = w.id")
    return {
        "registry.list_participants": [
            {"filters": ParticipantFilter(sort=sort)} for sort in PARTICIPANT_ORDERS
        ] + [
            {"filters": ParticipantFilter(province="32")},
            {"filters": ParticipantFilter(search="an")},  # a name's start: by (name, id)
            {"filters": ParticipantFilter(search="putra")},  # a word of a name: by id
        ],
        "providers.reading.list_providers": [{"filters": ProviderFilter(sort=sort)} for sort in PROVIDER_ORDERS],
        "applications.reading.list_applications": [{"sort": sort} for sort in APPLICATION_ORDERS],
        "audit_log.list_events": [{"sort": sort} for sort in AUDIT_SORTS]
        + [{"filters": EventFilter(action="participant.")}],
        "payments.browse.list_batches": [{"filters": BatchFilter(sort=sort)} for sort in BATCH_ORDERS],
        "payments.browse.batch_lines": [{"batch_id": batch}],
        "registry.list_blacklist": [{"standing_only": False}],
        "selection.list_rejections": [{"wave_number": wave}],
        "enrollments.list_flagged_completions": [{}],
        "enrollments.open_listings": [{}, {"search": "a"}],
    }


def paging_services() -> dict[str, object]:
    return {key: function for key, function in services().items()
            if "cursor" in inspect.signature(function).parameters}


async def _downward(function, db, actor, arguments, limit: int) -> list:
    rows, cursor = [], None
    while True:
        page = await function(db, actor, **arguments, cursor=cursor, limit=limit)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


async def _upward(function, db, actor, arguments, limit: int) -> list:
    rows, cursor = [], LAST_PAGE
    while cursor is not None:
        page = await function(db, actor, **arguments, cursor=cursor, limit=limit)
        rows[:0] = page.rows
        cursor = page.previous_cursor
    return rows


async def test_every_list_reads_the_same_upward_from_its_last_page(small_demo):
    db = small_demo
    actors = await Actors(db).load()
    variants = await _variants(db)
    assert set(variants) == set(paging_services()), "a paging service with no reading here"
    for key, arguments_list in variants.items():
        function = paging_services()[key]
        for arguments in arguments_list:
            whole = (await function(db, actors.admin, **arguments, limit=100_000)).rows
            assert len(whole) >= 3, (key, arguments)  # a list of one page would prove nothing
            limit = max(2, len(whole) // 4)  # four or five pages, the last one short
            assert await _downward(function, db, actors.admin, arguments, limit) == whole, (key, arguments)
            assert await _upward(function, db, actors.admin, arguments, limit) == whole, (key, arguments)
