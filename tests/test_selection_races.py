"""Two waves selected at the same moment: each holds exactly what it reports, nobody is in two
waves, no card is issued twice (both back ends; on PostgreSQL the two run truly at once)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, text

from store.engine import create_database
from store.errors import RuleViolation
from store.models import Participant, Wave
from store.services import selection, waves
from store.uow import read_session
from tests.participants_support import add_participants, person, wave_input

START = dt.date(2024, 3, 1)
IN_WINDOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


async def test_concurrent_selections_never_share_or_move_participants(db, db_url, actors):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(300)])
    for number in (21, 22):
        await waves.create_wave(db, actors.admin, wave_input(number, quota=200, starts_on=START))
    # Each selection through its own engine (its own connections), as two operators would.
    engines = [create_database(db_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            selection.select_participants(engines[0], actors.coordinator, 21, seed=1, at=IN_WINDOW),
            selection.select_participants(engines[1], actors.coordinator, 22, seed=2, at=IN_WINDOW),
        )
    finally:
        for engine in engines:
            await engine.dispose()
    async with read_session(db) as session:
        held = dict((await session.execute(
            select(Wave.number, func.count(Participant.id)).join(Participant, Participant.wave_id == Wave.id)
            .group_by(Wave.number)
        )).all())
        cards = (await session.execute(select(func.count(func.distinct(Participant.card_number))))).scalar_one()
    reported = {result.wave_number: result.selected for result in results}
    assert held == reported, "a wave does not hold what its selection reported"
    assert sum(reported.values()) == 300 and cards == 300
    assert sorted(reported.values()) == [100, 200]


async def test_the_database_refuses_moving_a_participant_to_another_wave(db, actors):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(3)])
    for number in (21, 22):
        await waves.create_wave(db, actors.admin, wave_input(number, quota=3, starts_on=START))
    await selection.select_participants(db, actors.coordinator, 21, seed=1, at=IN_WINDOW)
    for statement in (
        "UPDATE participant SET wave_id = (SELECT id FROM wave WHERE number = 22)",
        "UPDATE participant SET card_number = '5000022' || substr(card_number, 8)",
    ):
        try:
            async with db.write_engine.begin() as connection:
                await connection.execute(text(statement))
        except Exception as error:  # noqa: BLE001 - the driver's class differs per back end
            assert "mitra-rule:participant.wave_fixed" in str(error)
        else:
            raise AssertionError(f"accepted: {statement}")


async def test_a_selection_refused_by_the_rule_reads_as_the_rule(db, actors):
    from store.uow import unit_of_work

    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1))])
    await waves.create_wave(db, actors.admin, wave_input(21, quota=1, starts_on=START))
    await waves.create_wave(db, actors.admin, wave_input(22, quota=1, starts_on=START))
    await selection.select_participants(db, actors.coordinator, 21, seed=1, at=IN_WINDOW)
    try:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE participant SET wave_id = (SELECT id FROM wave WHERE number = 22)"))
    except RuleViolation as refused:
        assert refused.key == "participant.wave_fixed"
    else:
        raise AssertionError("moved")
