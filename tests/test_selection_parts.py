"""A selection written in parts while its wave is `selecting`: other operators write between the
parts, a selection cut short is finished by selecting the wave again, a run overtaken by another
stops without harm, and the database holds one wave selecting at a time (both back ends)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import func, select, text

from store.engine import create_database
from store.errors import Conflict, DatabaseUnavailable, InvalidInput, RuleViolation
from store.models import AuditEvent, Participant, SelectionRejection, Wave
from store.services import dashboard, selection, waves
from store.uow import read_session, unit_of_work
from tests.participants_support import add_participants, draw_order, person, wave_input
from tui.wave_results import selection_said

START = dt.date(2024, 3, 1)
IN_WINDOW = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)
SEED = 11


@pytest.fixture
def registry(db, actors):
    """30 eligible people and 3 too young; wave 21 (quota 10) and wave 22; parts of 4."""

    async def build() -> list[str]:
        eligible = [person(birth=dt.date(1990, 6, 1)) for _ in range(30)]
        await add_participants(db, actors.coordinator, eligible + [person(birth=dt.date(2010, 1, 1)) for _ in range(3)])
        for number in (21, 22):
            await waves.create_wave(db, actors.admin, wave_input(number, quota=10, starts_on=START))
        return [row["nik"] for row in eligible]

    return build


@pytest.fixture(autouse=True)
def small_parts(monkeypatch):
    monkeypatch.setattr(selection, "SELECTION_PART", 4)
    monkeypatch.setattr(selection, "REJECTION_PART", 4)


def before_each_part(monkeypatch, meanwhile):
    """Run `meanwhile(n)` before the n-th part of picks is written (between transactions)."""
    original, parts = selection._write_picks, []

    async def write_picks(*args, **kwargs):
        parts.append(len(parts) + 1)
        await meanwhile(parts[-1])
        return await original(*args, **kwargs)

    monkeypatch.setattr(selection, "_write_picks", write_picks)
    return parts


async def select_cut_short(db, actors, monkeypatch) -> list[int]:
    """Select wave 21 and lose the database before its second part of picks; returns the parts
    list (append to it to let later parts through)."""

    async def lose_the_database(part: int) -> None:
        if part == 2:
            raise DatabaseUnavailable("db.unreachable", target="test")

    parts = before_each_part(monkeypatch, lose_the_database)
    with pytest.raises(DatabaseUnavailable):
        await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    return parts


async def waiting_to_finish(db, actors) -> int:
    return next(queue.count for queue in await dashboard.work_waiting(db, actors.coordinator)
                if queue.key == "waves_selecting")


async def cards(db, number: int) -> dict[str, int]:
    """NIK -> card rank (the card number's last ten digits) of the wave's members."""
    async with read_session(db) as session:
        rows = await session.execute(
            select(Participant.nik, Participant.card_number).join(Wave, Wave.id == Participant.wave_id)
            .where(Wave.number == number)
        )
        return {nik: int(card[-10:]) for nik, card in rows.all()}


async def wave_state(db, number: int) -> str:
    async with read_session(db) as session:
        return (await session.execute(select(Wave.state).where(Wave.number == number))).scalar_one()


async def events(db, action: str) -> list[dict]:
    async with read_session(db) as session:
        rows = await session.execute(select(AuditEvent.changes).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [json.loads(changes) for changes in rows.scalars()]


async def test_in_parts_the_wave_gets_the_people_and_cards_one_transaction_would_give(db, actors, registry):
    niks = await registry()
    result = await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    drawn = draw_order(SEED, niks)[:10]
    assert await cards(db, 21) == {nik: rank for rank, nik in enumerate(drawn, start=1)}
    assert (result.registered, result.selected, result.rejected) == (33, 10, {"too_young": 3})
    assert await wave_state(db, 21) == "in_progress"
    # One part of rejections (3), then picks in parts of 4, 4 and 2; each its own audit event.
    parts = [event["details"] for event in await events(db, "wave.selection_part")]
    assert parts[0] == {"rejected": 3}
    assert [(part["drawn"], part["selected"]) for part in parts[1:]] == [(4, 4), (4, 4), (2, 2)]
    assert (await events(db, "wave.selected"))[-1]["details"]["selected"] == 10


async def test_other_operators_write_between_the_parts(db, db_url, actors, registry, monkeypatch):
    niks = await registry()
    other = create_database(db_url)  # another operator's connections
    seen = []

    async def register_and_correct(part: int) -> None:
        if part != 2:
            return
        seen.append(await wave_state(other, 21))
        # On SQLite these need the write lock, on PostgreSQL a member's row: a selection held in
        # one transaction would make them wait (and SQLite's give up "busy").
        await add_participants(other, actors.coordinator, [person(birth=dt.date(1991, 2, 3))])
        async with other.write_engine.begin() as connection:
            await connection.execute(text(
                "UPDATE participant SET full_name = 'Budi Widjaja', version = version + 1 WHERE card_number IS NOT NULL"
            ))

    before_each_part(monkeypatch, register_and_correct)
    try:
        result = await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    finally:
        await other.dispose()
    assert seen == ["selecting"]
    # The draw was read before the newcomer registered; the corrected members stay members.
    assert set(await cards(db, 21)) == set(draw_order(SEED, niks)[:10]) and result.selected == 10
    async with read_session(db) as session:
        renamed = (await session.execute(
            select(func.count()).where(Participant.full_name == "Budi Widjaja", Participant.wave_id.is_not(None))
        )).scalar_one()
    assert renamed == 4


async def test_a_selection_cut_short_is_finished_by_selecting_the_wave_again(db, actors, registry, monkeypatch):
    niks = await registry()
    parts = await select_cut_short(db, actors, monkeypatch)
    assert await waiting_to_finish(db, actors) == 1  # work waiting on the coordinator's dashboard
    drawn = {nik: rank for rank, nik in enumerate(draw_order(SEED, niks)[:10], start=1)}
    assert await wave_state(db, 21) == "selecting"
    written = await cards(db, 21)  # the first part: four of the picks, with their cards
    assert len(written) == 4 and written.items() <= drawn.items()
    # Meanwhile: no other wave is selected, the wave does not change (its draw depends on its
    # dates, quotas and number), the seed is the one begun with.
    with pytest.raises(Conflict) as refused:
        await selection.select_participants(db, actors.coordinator, 22, 5, at=IN_WINDOW)
    assert (refused.value.key, refused.value.params["other"]) == ("wave.other_selecting", 21)
    view = next(wave for wave in await waves.list_waves(db, actors.admin) if wave.number == 21)
    for change in (
        lambda: waves.update_wave(db, actors.admin, view.id, wave_input(21, quota=10, starts_on=START.replace(day=5)),
                                  expected_version=view.version),
        lambda: waves.update_wave(db, actors.admin, view.id, wave_input(31, quota=10, starts_on=START),
                                  expected_version=view.version),
        lambda: waves.set_province_quotas(db, actors.admin, view.id, {"32": 5}, expected_version=view.version),
        lambda: waves.set_wave_state(db, actors.admin, view.id, "closed", expected_version=view.version),
    ):
        with pytest.raises(RuleViolation, match="wave.selecting_locked"):
            await change()
    with pytest.raises(RuleViolation, match="wave.selecting_with_seed"):
        await selection.select_participants(db, actors.coordinator, 21, SEED + 1, at=IN_WINDOW)

    parts.append(99)  # the database is back
    result = await selection.select_participants(db, actors.coordinator, 21, at=IN_WINDOW)
    assert (result.seed, result.registered, result.selected, result.rejected) == (SEED, 33, 10, {"too_young": 3})
    assert await cards(db, 21) == drawn  # as if never cut short
    assert await waiting_to_finish(db, actors) == 0
    assert await wave_state(db, 21) == "in_progress"
    assert [event["details"] for event in await events(db, "wave.selection_resumed")] == [{"seed": SEED}]
    async with read_session(db) as session:
        assert (await session.execute(select(func.count()).select_from(SelectionRejection))).scalar_one() == 3


async def test_a_run_overtaken_by_another_stops_and_the_wave_holds_what_was_reported(
        db, db_url, actors, registry, monkeypatch):
    niks = await registry()
    finished = []

    async def another_operator_resumes(part: int) -> None:
        if part == 2 and not finished:
            other = create_database(db_url)
            try:
                finished.append(await selection.select_participants(other, actors.coordinator, 21, at=IN_WINDOW))
            finally:
                await other.dispose()

    before_each_part(monkeypatch, another_operator_resumes)
    with pytest.raises(Conflict, match="wave.selection_interrupted"):
        await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    held = await cards(db, 21)
    assert finished[0].selected == len(held) == len(set(held.values())) == 10
    assert set(held) == set(draw_order(SEED, niks)[:10])
    assert await wave_state(db, 21) == "in_progress"


async def test_the_database_holds_one_wave_selecting_at_a_time_with_its_seed(db, actors, registry):
    await registry()
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE wave SET state = 'selecting' WHERE number = 21"))
    assert refused.value.params["constraint"] == "ck_wave_selecting_has_seed"
    async with db.write_engine.begin() as connection:
        await connection.execute(text("UPDATE wave SET state = 'selecting', selection_seed = 3 WHERE number = 21"))
    with pytest.raises(Conflict, match="wave.another_selecting"):
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE wave SET state = 'selecting', selection_seed = 4 WHERE number = 22"))
    assert await wave_state(db, 22) == "planned"


async def test_a_pick_listed_before_its_part_is_not_taken_and_another_draw_fills_the_seat(
        db, actors, registry, monkeypatch):
    from store.services import registry as participants

    niks = await registry()
    drawn = draw_order(SEED, niks)
    barred = []

    async def blacklist_a_later_pick(part: int) -> None:
        if part == 1:
            # The pick with the highest id: in the last part, which has not been written yet.
            async with read_session(db) as session:
                nik = (await session.execute(
                    select(Participant.nik).where(Participant.nik.in_(drawn[:10])).order_by(Participant.id.desc())
                )).scalars().first()
            barred.append(nik)
            await participants.blacklist_nik(db, actors.admin, nik, "fraud report", "test")

    before_each_part(monkeypatch, blacklist_a_later_pick)
    result = await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    held = await cards(db, 21)
    assert barred[0] not in held and len(held) == result.selected == 10
    assert set(held) == set(drawn[:11]) - {barred[0]}  # the next in the draw took the seat
    assert result.rejected == {"too_young": 3, "blacklisted": 1}


async def test_a_selection_resumed_after_the_purchase_deadline_adds_nobody(db, actors, registry, monkeypatch):
    await registry()
    parts = await select_cut_short(db, actors, monkeypatch)
    parts.append(99)
    late = IN_WINDOW + dt.timedelta(days=60)  # the wave's deadline is 15 days after it starts
    result = await selection.select_participants(db, actors.coordinator, 21, at=late)
    assert result.selected == len(await cards(db, 21)) == 4
    assert await wave_state(db, 21) == "in_progress"
    assert (await events(db, "wave.selected"))[-1]["details"]["finished_after_deadline"] is True
    assert result.finished_after_deadline and "nobody was added" in selection_said(result)


async def test_a_wave_keeps_its_state_order_and_its_number_once_selected(db, actors, registry):
    await registry()
    await selection.select_participants(db, actors.coordinator, 21, SEED, at=IN_WINDOW)
    view = next(wave for wave in await waves.list_waves(db, actors.admin) if wave.number == 21)
    with pytest.raises(RuleViolation, match="wave.number_locked"):
        await waves.update_wave(db, actors.admin, view.id, wave_input(31, quota=10, starts_on=START),
                                expected_version=view.version)
    for statement, key in (
        ("UPDATE wave SET state = 'selecting' WHERE number = 21", "wave.state_order"),
        ("UPDATE wave SET state = 'planned' WHERE number = 21", "wave.state_order"),
        ("UPDATE wave SET state = 'in_progress' WHERE number = 22", "wave.state_order"),
        ("UPDATE wave SET number = 31 WHERE number = 21", "wave.number_locked"),
        ("UPDATE wave SET state = 'selecting', selection_seed = 1, number = 32 WHERE number = 22", "wave.number_locked"),
    ):
        with pytest.raises(RuleViolation) as refused:
            async with unit_of_work(db, actors.admin) as uow:
                await uow.session.execute(text(statement))
        assert refused.value.key == key, statement
    assert await wave_state(db, 21) == "in_progress" and len(await cards(db, 21)) == 10


async def test_province_quotas_never_exceed_the_wave_quota(db, actors, registry):
    await registry()
    view = next(wave for wave in await waves.list_waves(db, actors.admin) if wave.number == 22)
    view = await waves.set_province_quotas(db, actors.admin, view.id, {"31": 5, "32": 5}, expected_version=view.version)
    with pytest.raises(RuleViolation, match="wave.province_quotas_exceed"):
        await waves.update_wave(db, actors.admin, view.id, wave_input(22, quota=9, starts_on=START),
                                expected_version=view.version)


async def test_on_postgresql_a_listing_waits_for_a_part_being_written(db, db_url, actors, backend, registry):
    """A blacklisting committed while a part writes could get its NIK selected: the two take
    turns (SQLite's writers always do)."""
    if backend == "sqlite":
        pytest.skip("SQLite serialises write transactions: a listing cannot commit during a part")
    from store.services import registry as participants

    niks = await registry()
    other = create_database(db_url)
    try:
        async with unit_of_work(db, actors.coordinator) as uow:
            await waves.hold_lists(uow.session, to_select=True)  # as a part of a selection does
            listing = asyncio.create_task(participants.blacklist_nik(other, actors.admin, niks[0], "fraud", "test"))
            await asyncio.sleep(0.5)
            assert not listing.done(), "the listing did not wait for the part"
        await asyncio.wait_for(listing, 10)
    finally:
        await other.dispose()


async def test_a_selecting_wave_keeps_what_its_draw_depends_on_and_no_downgrade_strands_it(
        db, actors, registry, monkeypatch):
    from store import migrate

    await registry()
    await select_cut_short(db, actors, monkeypatch)
    for statement in ("UPDATE wave SET quota = 5 WHERE number = 21", "UPDATE wave SET selection_seed = 12 WHERE number = 21",
                      "UPDATE wave SET starts_on = '2024-03-05' WHERE number = 21",
                      "INSERT INTO wave_province_quota (wave_id, province_code, quota)"
                      " SELECT id, '32', 2 FROM wave WHERE number = 21"):
        with pytest.raises(RuleViolation) as refused:
            async with unit_of_work(db, actors.admin) as uow:
                await uow.session.execute(text(statement))
        assert refused.value.key == "wave.selecting_fixed", statement
    with pytest.raises(Exception, match="wave 21 is being selected"):
        await migrate.downgrade(db, "0611")
    # Refused at 0612's step, the schema keeps it: on SQLite the later steps (which change nothing
    # there) have gone down already, on PostgreSQL the whole downgrade was one transaction.
    assert await migrate.current_revision(db) in {"0612", migrate.head_revision()}
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE wave SET quota = 5 WHERE number = 21"))
    assert refused.value.key == "wave.selecting_fixed"


async def test_a_wave_number_fits_the_cards(db, actors):
    with pytest.raises(InvalidInput) as refused:
        await waves.create_wave(db, actors.admin, wave_input(100_000, starts_on=START))
    assert refused.value.key == "wave.number_range"
    created = await waves.create_wave(db, actors.admin, wave_input(99_999, starts_on=START))
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text("UPDATE wave SET number = 1000000000 WHERE id = :id"), {"id": created.id})
    assert refused.value.params["constraint"] == "ck_wave_number_range"
