"""Two waves selected at the same moment: each holds exactly what it reports, nobody is in two
waves, no card is issued twice (both back ends; on PostgreSQL the two run truly at once)."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select, text

from store.engine import create_database
from store.errors import Conflict, RuleViolation
from store.models import Participant, Wave
from store.services import selection, waves
from store.uow import read_session
from tests.participants_support import add_participants, person, wave_input

START = dt.date(2024, 3, 1)
IN_WINDOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


async def test_concurrent_selections_never_share_or_move_participants(db, db_url, actors):
    """One wave is selected at a time: the other is refused (nothing of it written) or, if the
    first was done by then, selected from what is left. Selected again, it takes the rest."""
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(300)])
    for number in (21, 22):
        await waves.create_wave(db, actors.admin, wave_input(number, quota=200, starts_on=START))
    # Each selection through its own engine (its own connections), as two operators would.
    engines = [create_database(db_url) for _ in range(2)]
    try:
        outcomes = await asyncio.gather(
            selection.select_participants(engines[0], actors.coordinator, 21, seed=1, at=IN_WINDOW),
            selection.select_participants(engines[1], actors.coordinator, 22, seed=2, at=IN_WINDOW),
            return_exceptions=True,
        )
    finally:
        for engine in engines:
            await engine.dispose()
    refused = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert all(isinstance(error, Conflict) and error.key in ("wave.other_selecting", "wave.another_selecting")
               for error in refused), refused
    assert len(refused) <= 1
    results = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    async with read_session(db) as session:
        states = dict((await session.execute(select(Wave.number, Wave.state))).all())
    for (number, seed), outcome in zip(((21, 1), (22, 2)), outcomes):
        if isinstance(outcome, BaseException):
            assert states[number] == "planned" and await _held(db, number) == {}
            results.append(await selection.select_participants(db, actors.coordinator, number, seed=seed, at=IN_WINDOW))
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


async def _held(db, number: int) -> dict[str, str]:
    """NIK -> card number of the wave's participants."""
    async with read_session(db) as session:
        rows = await session.execute(
            select(Participant.nik, Participant.card_number).join(Wave, Wave.id == Participant.wave_id)
            .where(Wave.number == number)
        )
        return dict(rows.all())


def _during_the_draw(monkeypatch, meanwhile):
    """Run `meanwhile(picks)` right after the selection's draw was read from its snapshot, before
    its result is written: what another operator might do in those tens of seconds."""
    original, draws = selection._read_draw, []

    async def read_then_interleave(*args):
        draw = await original(*args)
        draws.append(draw)
        if len(draws) == 1:
            await meanwhile([pick.participant_id for pick in draw.picks])
        return draw

    monkeypatch.setattr(selection, "_read_draw", read_then_interleave)
    return draws


async def test_other_operators_write_while_a_selection_draws_and_it_draws_again_when_needed(
        db, db_url, actors, monkeypatch):
    from store.services import registry

    people = [person(birth=dt.date(1990, 6, 1)) for _ in range(30)]
    await add_participants(db, actors.coordinator, people)
    await waves.create_wave(db, actors.admin, wave_input(21, quota=10, starts_on=START))
    by_id = {}
    async with read_session(db) as session:
        by_id = dict((await session.execute(select(Participant.id, Participant.nik))).all())

    async def blacklist_a_pick(picks):
        # Through its own engine, as another operator: on SQLite this needs the write lock, which
        # the selection must not be holding while it draws (else this waits and fails "busy").
        other = create_database(db_url)
        try:
            await registry.blacklist_nik(other, actors.admin, by_id[picks[0]], "fraud report", "test")
        finally:
            await other.dispose()

    draws = _during_the_draw(monkeypatch, blacklist_a_pick)
    result = await selection.select_participants(db, actors.coordinator, 21, seed=3, at=IN_WINDOW)

    barred = by_id[draws[0].picks[0][0]]
    held = await _held(db, 21)
    assert len(draws) == 2, "the draw was not made again after someone was blacklisted"
    assert barred not in held and len(held) == result.selected == 10
    assert result.rejected == {"blacklisted": 1}


async def test_a_pick_changed_during_the_draw_makes_it_draw_again_and_the_wave_holds_what_it_reports(
        db, db_url, actors, monkeypatch):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(30)])
    await waves.create_wave(db, actors.admin, wave_input(21, quota=10, starts_on=START))

    async def correct_a_picked_record(picks):
        other = create_database(db_url)
        try:
            async with other.write_engine.begin() as connection:
                await connection.execute(
                    text("UPDATE participant SET full_name = 'Budi Widjaja', version = version + 1 WHERE id = :id"),
                    {"id": picks[-1]},
                )
        finally:
            await other.dispose()

    draws = _during_the_draw(monkeypatch, correct_a_picked_record)
    result = await selection.select_participants(db, actors.coordinator, 21, seed=3, at=IN_WINDOW)
    assert len(draws) == 2
    held = await _held(db, 21)
    assert len(held) == result.selected == 10 and len(set(held.values())) == 10
    async with read_session(db) as session:
        renamed = (await session.execute(
            select(Participant.full_name, Participant.status).where(Participant.id == draws[0].picks[-1][0])
        )).one()
    assert tuple(renamed) == ("Budi Widjaja", "selected")  # the correction kept, and still drawn


async def test_a_quiet_registry_is_drawn_once_outside_the_lock(db, actors, monkeypatch):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 6, 1)) for _ in range(30)])
    await waves.create_wave(db, actors.admin, wave_input(21, quota=10, starts_on=START))

    async def nothing(_picks):
        return None

    draws = _during_the_draw(monkeypatch, nothing)
    result = await selection.select_participants(db, actors.coordinator, 21, seed=3, at=IN_WINDOW)
    assert len(draws) == 1 and result.selected == 10
    assert sorted((await _held(db, 21)).values()) == [f"5{21:05d}{rank:010d}" for rank in range(1, 11)]
