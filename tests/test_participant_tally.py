"""The tally of participants per (wave, status) that the funnels read agrees with the
participants themselves after every kind of change: imports, selection, purchase, completion,
the sweep, and changes made with plain SQL (the database keeps it, not the services)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, literal_column, select, text

from store.models import Participant, ParticipantTally
from store.services import enrollments, selection, waves
from store.uow import read_session
from tests.participants_support import add_participants, make_listing, person, wave_input

START = dt.date(2024, 3, 1)
IN_WINDOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


async def _tally_agrees(db) -> dict[tuple[int, str], int]:
    async with read_session(db) as session:
        wave_key = func.coalesce(Participant.wave_id, literal_column("0"))
        truth = dict(((wave, status), n) for wave, status, n in await session.execute(
            select(wave_key, Participant.status, func.count()).group_by(wave_key, Participant.status)
        ))
        kept = dict(((wave, status), n) for wave, status, n in await session.execute(
            select(ParticipantTally.wave_key, ParticipantTally.status, ParticipantTally.n).where(ParticipantTally.n != 0)
        ))
    assert kept == truth
    return kept


async def test_the_tally_follows_every_change_of_the_participants(db, actors):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(12)])
    await _tally_agrees(db)
    for number in (21, 22):
        await waves.create_wave(db, actors.admin, wave_input(number, quota=5, starts_on=START))
    await selection.select_participants(db, actors.coordinator, 21, seed=1, at=IN_WINDOW)
    await selection.select_participants(db, actors.coordinator, 22, seed=2, at=IN_WINDOW)
    await _tally_agrees(db)

    listing = await make_listing(db, actors.admin, price=1_000_000)
    async with read_session(db) as session:
        buyers = (await session.execute(select(Participant.id).where(Participant.status == "selected").limit(2))).scalars().all()
    bought = [await enrollments.assign(db, actors.coordinator, buyer, listing, at=IN_WINDOW) for buyer in buyers]
    await enrollments.complete(db, actors.coordinator, bought[0].id, START + dt.timedelta(days=10), "CERT-1")
    await _tally_agrees(db)

    await selection.sweep_wave(db, actors.coordinator, 21, today=START + dt.timedelta(days=16))
    kept = await _tally_agrees(db)
    wave_ids = {wave.number: wave.id for wave in await waves.list_waves(db, actors.admin)}
    assert kept.get((wave_ids[21], "revoked"), 0) > 0

    # Plain SQL, as an insider or a repair script would: the database still keeps count.
    async with db.write_engine.begin() as connection:
        deleted = (await connection.execute(text(
            "DELETE FROM participant WHERE status = 'registered' AND id NOT IN (SELECT participant_id FROM"
            " selection_rejection) AND id NOT IN (SELECT participant_id FROM enrollment)"
        ))).rowcount
        await connection.execute(text("UPDATE participant SET status = 'in_training' WHERE id = :id"),
                                 {"id": bought[1].participant_id})
    assert deleted > 0
    await _tally_agrees(db)

    if not db.is_sqlite:  # the owner empties the registry at once: TRUNCATE fires no delete trigger
        async with db.write_engine.begin() as connection:
            await connection.execute(text("TRUNCATE participant CASCADE"))
        assert await _tally_agrees(db) == {}


async def test_the_funnel_reads_the_tally(db, actors):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(8)])
    await waves.create_wave(db, actors.admin, wave_input(21, quota=3, starts_on=START))
    await selection.select_participants(db, actors.coordinator, 21, seed=1, at=IN_WINDOW)
    [wave] = await waves.list_waves(db, actors.auditor)
    assert (wave.funnel.registered, wave.funnel.selected) == (8, 3)
    # The funnel reads the tally: a tally put wrong by hand shows (the participants are not scanned).
    async with db.write_engine.begin() as connection:
        await connection.execute(text("UPDATE participant_tally SET n = n + 1000 WHERE wave_key <> 0 AND status = 'selected'"))
    [wave] = await waves.list_waves(db, actors.auditor)
    assert wave.funnel.selected == 1003
