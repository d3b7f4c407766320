"""Enrollment: assignment rules each refused with its reason, progress and completion with the
certificate gate and the fast-completion flag, cancellation refunds, bulk assignment."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy import func, select, text, update

from store.errors import InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, Enrollment, Participant, Platform
from store.services import bulk_assignment, enrollments, selection, waves
from store.uow import read_session, unit_of_work
from tests.participants_support import add_participants, make_listing, person, wave_input

# Recent, so that first purchases fall within the wave's purchase deadline (counted from today).
START = dt.date.today() - dt.timedelta(days=5)
BALANCE = 3_500_000


async def card_holders(db, actors, count: int = 3, *, number: int = 7) -> list[int]:
    """`count` participants selected into a wave (balance Rp3,500,000 each), by id."""
    ids = await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(count)])
    await waves.create_wave(db, actors.admin, wave_input(number, quota=count, starts_on=START))
    await selection.select_participants(db, actors.coordinator, number, seed=1)
    return ids


async def participant(db, participant_id: int) -> Participant:
    async with read_session(db) as session:
        return await session.get(Participant, participant_id)


async def events_of(db, entity: str, entity_id) -> list[AuditEvent]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id)).order_by(AuditEvent.id)
        )
        return list(rows.scalars())


async def test_assignment_deducts_the_price_and_starts_the_training(db, actors):
    (pid, *_) = await card_holders(db, actors)
    listing = await make_listing(db, actors.admin, price=1_200_000)
    view = await enrollments.assign(db, actors.coordinator, pid, listing)
    assert (view.status, view.sequence, view.price_idr, view.platform_name) == ("assigned", 1, 1_200_000, "Tokopedia")
    after = await participant(db, pid)
    assert (after.status, after.balance_idr) == ("in_training", BALANCE - 1_200_000)
    (charged,) = await events_of(db, "participant", pid)
    changes = json.loads(charged.changes)
    assert changes == {"before": {"balance_idr": BALANCE, "status": "selected"},
                       "after": {"balance_idr": BALANCE - 1_200_000, "status": "in_training"}}
    assert [e.action for e in await events_of(db, "enrollment", view.id)] == ["enrollment.assigned"]


@pytest.mark.parametrize("states,key", [
    ({"provider_state": "suspended"}, "enrollment.provider_not_approved"),
    ({"provider_state": "in_curation"}, "enrollment.provider_not_approved"),
    ({"course_state": "withdrawn"}, "enrollment.course_not_approved"),
    ({"listing_status": "delisted"}, "enrollment.course_not_listed"),
    ({"price": BALANCE + 1}, "enrollment.balance_insufficient"),
])
async def test_catalog_and_balance_refusals(db, actors, states, key):
    (pid, *_) = await card_holders(db, actors)
    listing = await make_listing(db, actors.admin, **states)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, pid, listing)
    assert refused.value.key == key
    after = await participant(db, pid)
    assert (after.status, after.balance_idr) == ("selected", BALANCE)


async def test_a_suspended_platform_sells_nothing(db, actors):
    (pid, *_) = await card_holders(db, actors)
    listing = await make_listing(db, actors.admin, platform_code="bukalapak")
    async with unit_of_work(db, actors.admin) as uow:
        await uow.session.execute(update(Platform).where(Platform.code == "bukalapak").values(status="suspended"))
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, pid, listing)
    assert refused.value.key == "enrollment.platform_suspended"


async def test_courses_are_taken_one_after_another(db, actors):
    (pid, *_) = await card_holders(db, actors)
    first = await make_listing(db, actors.admin, title="Excel untuk Pemula", price=300_000, hours=10)
    second = await make_listing(db, actors.admin, title="Bahasa Inggris Kerja", price=400_000)
    enrollment = await enrollments.assign(db, actors.coordinator, pid, first)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, pid, second)
    assert refused.value.key == "enrollment.one_at_a_time"
    # The partial UNIQUE index says it too, whoever writes.
    async with unit_of_work(db, actors.admin) as uow:
        uow.session.add(Enrollment(participant_id=pid, listing_id=second, course_id=enrollment.course_id,
                                   platform_id=enrollment.platform_id, sequence=2, price_idr=1, commission_bp=0))
        with pytest.raises(DBAPIError):
            await uow.session.flush()
    await enrollments.complete(db, actors.coordinator, enrollment.id, dt.date.today(), "SRT-001",
                               review_given=True)
    follow_up = await enrollments.assign(db, actors.coordinator, pid, second)
    assert follow_up.sequence == 2
    after = await participant(db, pid)
    assert (after.status, after.balance_idr) == ("completed", BALANCE - 700_000)


@pytest.mark.parametrize("status", ["registered", "revoked"])
async def test_only_card_holders_buy(db, actors, status):
    if status == "registered":
        (pid,) = await add_participants(db, actors.coordinator, [person()])
    else:
        (pid, *_) = await card_holders(db, actors)
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(update(Participant).where(Participant.id == pid).values(status="revoked"))
    listing = await make_listing(db, actors.admin)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, pid, listing)
    assert refused.value.key == "enrollment.participant_not_active"


async def test_platform_staff_report_progress_only_for_their_platform(db, actors):
    (pid, *_) = await card_holders(db, actors)
    enrollment = await enrollments.assign(db, actors.coordinator, pid, await make_listing(db, actors.admin))
    with pytest.raises(PermissionDenied) as refused:
        await enrollments.record_progress(db, actors.bukalapak, enrollment.id, 40)
    assert refused.value.key == "permission.other_platform"
    with pytest.raises(PermissionDenied):
        await enrollments.record_progress(db, actors.finance, enrollment.id, 40)
    view = await enrollments.record_progress(db, actors.tokopedia, enrollment.id, 40)
    assert (view.status, view.progress_pct) == ("in_progress", 40)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.record_progress(db, actors.coordinator, enrollment.id, 30)
    assert refused.value.key == "enrollment.progress_backwards"
    with pytest.raises(InvalidInput) as refused:
        await enrollments.record_progress(db, actors.coordinator, enrollment.id, 100)
    assert refused.value.key == "enrollment.progress_range"


async def test_completion_needs_a_certificate_and_fast_ones_are_flagged(db, actors):
    holders = await card_holders(db, actors)
    listing = await make_listing(db, actors.admin, hours=40)
    assigned_at = dt.datetime(2024, 3, 4, 9, 0, tzinfo=dt.UTC)
    slow = await enrollments.assign(db, actors.coordinator, holders[0], listing, at=assigned_at)
    fast = await enrollments.assign(db, actors.coordinator, holders[1], listing, at=assigned_at)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.complete(db, actors.tokopedia, slow.id, dt.date(2024, 3, 10), "  ")
    assert refused.value.key == "enrollment.certificate_required"
    with pytest.raises(RuleViolation) as refused:
        await enrollments.complete(db, actors.tokopedia, slow.id, dt.date(2024, 3, 1), "SRT-9")
    assert refused.value.key == "enrollment.completed_before_assigned"
    done = await enrollments.complete(db, actors.tokopedia, slow.id, dt.date(2024, 3, 6), "SRT-1", review_given=True)
    assert (done.status, done.progress_pct, done.flagged_fast, done.certificate_number) == ("completed", 100, False, "SRT-1")
    quick = await enrollments.complete(db, actors.tokopedia, fast.id, dt.date(2024, 3, 5), "SRT-2")
    assert quick.status == "completed" and quick.flagged_fast  # 40 hours in one day
    assert (await participant(db, holders[1])).status == "completed"
    with pytest.raises(PermissionDenied):
        await enrollments.clear_flag(db, actors.tokopedia, fast.id, "checked")
    cleared = await enrollments.clear_flag(db, actors.coordinator, fast.id, "Log belajar diperiksa: wajar")
    assert cleared.flag_cleared_at is not None
    with pytest.raises(RuleViolation):
        await enrollments.complete(db, actors.coordinator, fast.id, dt.date(2024, 3, 7), "SRT-3")


async def test_cancellation_before_start_refunds_the_balance(db, actors):
    holders = await card_holders(db, actors)
    listing = await make_listing(db, actors.admin, price=900_000)
    enrollment = await enrollments.assign(db, actors.coordinator, holders[0], listing)
    with pytest.raises(InvalidInput):
        await enrollments.cancel(db, actors.coordinator, enrollment.id, "")
    cancelled = await enrollments.cancel(db, actors.coordinator, enrollment.id, "Salah pilih kelas")
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Salah pilih kelas"
    after = await participant(db, holders[0])
    assert (after.status, after.balance_idr) == ("selected", BALANCE)  # back under the deadline rule
    started = await enrollments.assign(db, actors.coordinator, holders[1], listing)
    await enrollments.record_progress(db, actors.tokopedia, started.id, 10)
    with pytest.raises(RuleViolation) as refused:
        await enrollments.cancel(db, actors.coordinator, started.id, "Terlambat")
    assert refused.value.key == "enrollment.already_started"
    assert (await participant(db, holders[1])).balance_idr == BALANCE - 900_000


def _copy_statement(**changes):
    """INSERT of a copy of enrollment :like but for `changes` (SQL expressions by column): an
    enrollment a database login writes itself."""
    columns = ("version", "participant_id", "listing_id", "course_id", "platform_id", "sequence", "price_idr",
               "commission_bp", "status", "progress_pct", "assigned_at", "completed_on", "certificate_number",
               "review_given", "flagged_fast", "cancel_reason")
    chosen = ", ".join(str(changes.get(column, column)) for column in columns)
    return text(f"INSERT INTO enrollment ({', '.join(columns)}) SELECT {chosen} FROM enrollment WHERE id = :like")


async def _copy_enrollment(db, like: int, **changes) -> None:
    async with db.write_engine.begin() as connection:
        await connection.execute(_copy_statement(**changes), {"like": like})


async def _refused_in_sql(key: str, work) -> None:
    with pytest.raises(DBAPIError) as refused:
        await work
    assert f"mitra-rule:{key}" in str(refused.value)


async def test_the_database_caps_what_a_card_buys_whoever_writes(db, actors):
    """Training fees are paid per enrollment at its price: what the services refuse, the database
    refuses too, for a login that writes enrollments or balances itself (0616)."""
    holder, other = (await card_holders(db, actors))[:2]
    first = await make_listing(db, actors.admin, title="Excel untuk Pemula", price=2_000_000)
    second = await make_listing(db, actors.admin, title="Bahasa Inggris Kerja", price=2_000_000)
    bought = await enrollments.assign(db, actors.coordinator, holder, first)
    await enrollments.complete(db, actors.coordinator, bought.id, dt.date.today(), "SRT-001", review_given=True)
    async with db.write_engine.begin() as connection:  # the balance shown, raised by hand
        await connection.execute(text("UPDATE participant SET balance_idr = 100000000 WHERE id = :id"), {"id": holder})

    # The console believes the raised balance; the wave's balance (Rp3,500,000) is what holds.
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, holder, second)
    assert refused.value.key == "enrollment.over_training_balance"
    after = await participant(db, holder)
    assert (after.status, after.balance_idr) == ("completed", 100_000_000)  # nothing half-written
    async with read_session(db) as session:
        assert (await session.execute(select(func.count()).select_from(Enrollment))).scalar_one() == 1

    # Enrollments written in SQL: each sample of what the fee batch would otherwise pay.
    next_sequence = "sequence + 1"
    await _refused_in_sql("enrollment.not_as_listed",  # a price of its own
                          _copy_enrollment(db, bought.id, sequence=next_sequence, price_idr=10_000))
    await _refused_in_sql("enrollment.not_as_listed",  # another listing's course
                          _copy_enrollment(db, bought.id, participant_id=other, listing_id=second))
    await _refused_in_sql("enrollment.over_training_balance",
                          _copy_enrollment(db, bought.id, sequence=next_sequence))
    [registered] = await add_participants(db, actors.coordinator, [person(birth=dt.date(1991, 1, 1))])
    await _refused_in_sql("enrollment.no_card", _copy_enrollment(db, bought.id, participant_id=registered))
    await _copy_enrollment(db, bought.id, participant_id=other)  # within the other's balance, as listed: allowed

    async def change(assignment: str) -> None:
        async with db.write_engine.begin() as connection:
            await connection.execute(text(f"UPDATE enrollment SET {assignment} WHERE id = :id"), {"id": bought.id})

    for assignment in ("price_idr = 3500000", f"participant_id = {other}", "sequence = 2"):
        await _refused_in_sql("enrollment.purchase_fixed", change(assignment))
    # Cancelled, a completed (perhaps paid) enrollment would free its price for another purchase.
    await _refused_in_sql("enrollment.cancel_unstarted", change("status = 'cancelled', cancel_reason = 'x'"))
    third = await make_listing(db, actors.admin, title="Menjadi Barista", price=1_000_000)
    cancelled = await enrollments.assign(db, actors.coordinator, other, third)  # 2M + 1M: within its 3.5M
    await enrollments.cancel(db, actors.coordinator, cancelled.id, "Salah pilih kelas")
    with pytest.raises(DBAPIError) as revived:
        async with db.write_engine.begin() as connection:
            await connection.execute(text("UPDATE enrollment SET status = 'assigned' WHERE id = :id"),
                                     {"id": cancelled.id})
    assert "mitra-rule:enrollment.purchase_fixed" in str(revived.value)


async def test_two_logins_buying_for_one_person_at_once_cannot_pass_the_cap_together(db, actors):
    """Each sees only its own enrollment until the other commits: without taking turns, two
    purchases of Rp2,000,000 would both fit a balance of Rp3,500,000."""
    if db.is_sqlite:
        pytest.skip("SQLite serialises write transactions: the second purchase begins after the first")
    holder, other = (await card_holders(db, actors))[:2]
    listing = await make_listing(db, actors.admin, title="Excel untuk Pemula", price=2_000_000)
    bought = await enrollments.assign(db, actors.coordinator, other, listing)
    # Completed enrollments are copied: the one-active-course index would take turns for active ones.
    await enrollments.complete(db, actors.coordinator, bought.id, dt.date.today(), "SRT-001", review_given=True)
    copy = _copy_statement(sequence="sequence + :n", participant_id=":holder")
    async with db.write_engine.connect() as first, db.write_engine.connect() as second:
        await first.execute(copy, {"like": bought.id, "n": 0, "holder": holder})  # not committed yet
        racing = asyncio.create_task(second.execute(copy, {"like": bought.id, "n": 1, "holder": holder}))
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second purchase did not wait for the first"
        await first.commit()
        with pytest.raises(DBAPIError) as refused:
            await asyncio.wait_for(racing, 10)
        assert "mitra-rule:enrollment.over_training_balance" in str(refused.value)
    async with read_session(db) as session:
        held = (await session.execute(select(func.count()).select_from(Enrollment)
                                      .where(Enrollment.participant_id == holder))).scalar_one()
    assert held == 1


# --- bulk assignment -----------------------------------------------------------------------


async def test_bulk_assignment_previews_then_assigns_and_lists_the_refused(db, actors):
    holders = await card_holders(db, actors, count=6)
    cheap = await make_listing(db, actors.admin, title="Kursus Singkat", price=100_000)
    listing = await make_listing(db, actors.admin, price=1_000_000)
    busy = holders[0]
    await enrollments.assign(db, actors.coordinator, busy, cheap)
    poor = holders[1]
    async with unit_of_work(db, actors.admin) as uow:
        await uow.session.execute(update(Participant).where(Participant.id == poor).values(balance_idr=500_000))
    wave = await waves.get_wave(db, actors.coordinator, 7)
    everyone = bulk_assignment.BulkFilter(wave_id=wave.id, without_active_enrollment=False)

    preview = await bulk_assignment.preview(db, actors.coordinator, everyone, listing)
    assert (preview.matching, preview.assignable, preview.total_idr) == (6, 4, 4_000_000)
    assert preview.refused == {"enrollment.balance_insufficient": 1, "enrollment.one_at_a_time": 1}
    idle_only = await bulk_assignment.preview(db, actors.coordinator, bulk_assignment.BulkFilter(wave_id=wave.id), listing)
    assert (idle_only.matching, idle_only.assignable) == (5, 4)

    seen = []
    result = await bulk_assignment.run(db, actors.coordinator, everyone, listing, batch_size=4,
                                       progress=lambda done, total: seen.append((done, total)))
    assert (result.assigned, result.total_idr) == (4, 4_000_000)
    assert {(r.participant_id, r.reason) for r in result.refusals} == {
        (busy, "enrollment.one_at_a_time"), (poor, "enrollment.balance_insufficient"),
    }
    assert seen == [(4, 6), (6, 6)]
    for pid in holders[2:]:
        after = await participant(db, pid)
        assert (after.status, after.balance_idr) == ("in_training", BALANCE - 1_000_000)
    async with read_session(db) as session:
        events = (await session.execute(select(AuditEvent).where(AuditEvent.action == "enrollment.bulk_assigned"))).scalars().all()
    assert sorted(pid for e in events for pid in json.loads(e.changes)["details"]["participant_ids"]) == holders[2:]


async def test_bulk_assignment_can_be_stopped_between_batches(db, actors):
    holders = await card_holders(db, actors, count=5)
    listing = await make_listing(db, actors.admin)
    wave = await waves.get_wave(db, actors.coordinator, 7)
    batches = []
    result = await bulk_assignment.run(
        db, actors.coordinator, bulk_assignment.BulkFilter(wave_id=wave.id), listing, batch_size=2,
        progress=lambda done, total: batches.append(done), should_stop=lambda: len(batches) >= 1,
    )
    assert (result.assigned, result.stopped) == (2, True)
    statuses = [(await participant(db, pid)).status for pid in holders]
    assert statuses.count("in_training") == 2 and statuses.count("selected") == 3


async def test_bulk_assignment_is_for_coordinators(db, actors):
    listing = await make_listing(db, actors.admin)
    with pytest.raises(PermissionDenied):
        await bulk_assignment.preview(db, actors.tokopedia, bulk_assignment.BulkFilter(), listing)


async def test_no_first_purchase_after_the_wave_deadline(db, actors):
    """Past the purchase deadline a card holder who bought nothing may not start now (the sweep
    revokes the card); one who did buy in time may go on to the next course."""
    ids = await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(2)])
    late_start = dt.date.today() - dt.timedelta(days=40)  # deadline: 15 days after the start
    wave = await waves.create_wave(db, actors.admin, wave_input(8, quota=2, starts_on=late_start))
    in_time = dt.datetime.combine(late_start + dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)
    await selection.select_participants(db, actors.coordinator, 8, seed=1, at=in_time)
    listing = await make_listing(db, actors.admin, price=500_000)
    first = await enrollments.assign(db, actors.coordinator, ids[0], listing, at=in_time)

    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, ids[1], listing)
    assert refused.value.key == "enrollment.purchase_deadline_passed"
    assert (await participant(db, ids[1])).balance_idr == BALANCE
    preview = await bulk_assignment.preview(db, actors.coordinator, bulk_assignment.BulkFilter(wave_id=wave.id), listing)
    assert preview.refused == {"enrollment.purchase_deadline_passed": 1}

    await enrollments.complete(db, actors.coordinator, first.id, late_start + dt.timedelta(days=10), "C-1")
    later = await enrollments.assign(db, actors.coordinator, ids[0], listing)
    assert later.sequence == 2


async def test_bulk_assignment_racing_single_assignments_refuses_per_row_and_completes(db, db_url, actors):
    """Single assignments land while a bulk run is under way (own engines, truly concurrent on
    PostgreSQL): each participant ends with exactly one course, the bulk run finishes and names
    every participant it found already enrolled; nothing ends as an unexpected error."""
    from store.engine import create_database

    holders = await card_holders(db, actors, count=40)
    listing = await make_listing(db, actors.admin, price=1_000_000)
    wave = await waves.get_wave(db, actors.coordinator, 7)
    bulk_db, single_db = create_database(db_url), create_database(db_url)

    async def singles() -> set[int]:
        done = set()
        for pid in reversed(holders):
            try:
                await enrollments.assign(single_db, actors.coordinator, pid, listing)
                done.add(pid)
            except RuleViolation as refused:
                assert refused.key == "enrollment.one_at_a_time"
        return done

    try:
        result, singly = await asyncio.gather(
            bulk_assignment.run(bulk_db, actors.coordinator, bulk_assignment.BulkFilter(wave_id=wave.id, without_active_enrollment=False),
                                listing, batch_size=3),
            singles(),
        )
    finally:
        await bulk_db.dispose()
        await single_db.dispose()
    refused = {r.participant_id for r in result.refusals}
    assert set(r.reason for r in result.refusals) <= {"enrollment.one_at_a_time"}
    assert result.assigned + len(singly) == len(holders)
    assert refused == singly  # whoever the bulk run did not take was taken singly, and named
    async with read_session(db) as session:
        counts = (await session.execute(
            select(Enrollment.participant_id, func.count()).group_by(Enrollment.participant_id)
        )).all()
    assert sorted(pid for pid, n in counts if n == 1) == sorted(holders)
