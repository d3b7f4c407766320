"""Waves: the scheme lock, selection (seeded, within quotas, eligibility with listable reasons),
the purchase-deadline sweep, the blacklist and its audited lifting, and the funnel."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import json

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy import select, text

from store.errors import InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, BlacklistEntry, Participant, Wave
from store.services import enrollments, participant_import, registry, selection, waves
from store.uow import read_session, unit_of_work
from tests.participants_support import (
    add_participants, expected_draw, make_listing, person, wave_input, write_csv,
)
from tests.cli_support import mitra

START = dt.date(2024, 3, 1)
# A moment inside the 2024 wave's purchase window (first purchases are refused after it).
WITHIN_DEADLINE = dt.datetime(2024, 3, 2, 9, 0, tzinfo=dt.UTC)


def adult(**kwargs) -> dict[str, str]:
    return person(birth=kwargs.pop("birth", dt.date(1990, 6, 1)), **kwargs)


async def selected(db, wave_number: int) -> dict[str, Participant]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(Participant).join(Wave, Wave.id == Participant.wave_id).where(Wave.number == wave_number)
        )
        return {p.nik: p for p in rows.scalars()}


async def last_event(db, action: str) -> dict:
    async with read_session(db) as session:
        event = (
            await session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))
        ).scalars().first()
    return json.loads(event.changes)


async def wave_with_people(db, actors, people, *, number=7, quota=10, starts_on=START):
    await add_participants(db, actors.coordinator, people)
    return await waves.create_wave(db, actors.admin, wave_input(number, quota=quota, starts_on=starts_on))


async def test_selection_follows_the_seed_and_stays_within_the_quota(db, actors):
    people = [adult(province=code) for code in ["32", "33", "35", "96"] * 10]
    await wave_with_people(db, actors, people, quota=10)
    result = await selection.select_participants(db, actors.coordinator, 7, seed=2020, at=WITHIN_DEADLINE)
    chosen = await selected(db, 7)
    assert (result.registered, result.selected, len(chosen)) == (40, 10, 10)
    assert set(chosen) == expected_draw(2020, [p["nik"] for p in people], 10)
    for participant in chosen.values():
        assert participant.status == "selected" and participant.balance_idr == 3_500_000
        assert participant.card_number.startswith("500007") and len(participant.card_number) == 16
    async with read_session(db) as session:
        wave = (await session.execute(select(Wave).where(Wave.number == 7))).scalar_one()
    assert (wave.state, wave.selection_seed, wave.registered_count) == ("in_progress", 2020, 40)
    event = await last_event(db, "wave.selected")
    assert event["details"]["selected"] == 10 and event["details"]["seed"] == 2020


async def test_the_same_seed_selects_the_same_people_another_seed_others(db_url_factory, actors):
    from store.engine import create_database
    from tests.conftest import Actors

    people = [adult() for _ in range(30)]
    outcomes = []
    for seed in (11, 11, 12):
        other = create_database(await db_url_factory("seeded"))
        try:
            other_actors = await Actors(other).load()
            await wave_with_people(other, other_actors, people, quota=8)
            await selection.select_participants(other, other_actors.coordinator, 7, seed=seed, at=WITHIN_DEADLINE)
            outcomes.append({nik: p.card_number for nik, p in (await selected(other, 7)).items()})
        finally:
            await other.dispose()
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) != set(outcomes[2])


async def test_province_quotas_cap_their_provinces_and_the_rest_share_the_remainder(db, actors):
    people = [adult(province="32") for _ in range(8)] + [adult(province="96") for _ in range(1)]
    people += [adult(province=code) for code in ["11", "51", "73"] * 4]
    wave = await wave_with_people(db, actors, people, quota=9)
    await waves.set_province_quotas(db, actors.admin, wave.id, {"32": 3, "96": 2}, expected_version=wave.version)
    await selection.select_participants(db, actors.coordinator, 7, seed=5, at=WITHIN_DEADLINE)
    by_province: dict[str, int] = {}
    for participant in (await selected(db, 7)).values():
        by_province[participant.province_code] = by_province.get(participant.province_code, 0) + 1
    # 32 gets its 3; 96 has a quota of 2 but one eligible person (the seat is not passed on);
    # the other provinces share 9 - (3 + 2) = 4 seats.
    assert by_province.get("32") == 3 and by_province.get("96") == 1
    assert sum(count for code, count in by_province.items() if code not in ("32", "96")) == 4


async def test_province_quotas_cannot_exceed_the_wave_quota(db, actors):
    wave = await waves.create_wave(db, actors.admin, wave_input(quota=5, starts_on=START))
    with pytest.raises(RuleViolation) as refused:
        await waves.set_province_quotas(db, actors.admin, wave.id, {"32": 4, "33": 2}, expected_version=wave.version)
    assert refused.value.key == "wave.province_quotas_exceed"


async def test_eligibility_refusals_are_recorded_with_listable_reasons(db, actors, tmp_path):
    turns_18_on_start = adult(birth=dt.date(2006, 3, 1), name="Pas Delapan Belas")
    turns_18_next_day = adult(birth=dt.date(2006, 3, 2), name="Belum Delapan Belas")
    aged_64 = adult(birth=dt.date(1959, 3, 2), name="Enam Puluh Empat")
    turns_65_on_start = adult(birth=dt.date(1959, 3, 1), name="Enam Puluh Lima")
    banned = adult(name="Masuk Daftar Hitam")
    pardoned = adult(name="Sudah Dicabut")
    student = adult(name="Mahasiswa")
    servant = adult(name="Pegawai Negeri")
    forged = adult(name="NIK Tidak Cocok")
    forged["birth_date"] = "1991-06-01"  # the NIK says 1990: disagrees with the record
    people = [turns_18_on_start, turns_18_next_day, aged_64, turns_65_on_start, banned, pardoned, student, servant, forged]
    await wave_with_people(db, actors, people, quota=100)
    await registry.blacklist_nik(db, actors.coordinator, banned["nik"], "Kartu ganda", "Audit BPK 2021")
    entry = await registry.blacklist_nik(db, actors.coordinator, pardoned["nik"], "Salah data", "Laporan warga")
    await registry.lift_blacklist(db, actors.admin, entry.id, "Data terbukti benar", "Keputusan Komite 12/2024")
    for nik_, kind in ((student["nik"], "formal_education"), (servant["nik"], "excluded_occupation")):
        path = write_csv(tmp_path / f"{kind}.csv", [], header=["nik"])
        path.write_text(f"nik\n{nik_}\n", encoding="utf-8")
        await participant_import.import_exclusions(db, actors.coordinator, path, kind, "Kementerian", dt.date(2024, 1, 1))

    result = await selection.select_participants(db, actors.coordinator, 7, seed=1, at=WITHIN_DEADLINE)
    assert result.rejected == {
        "invalid_nik": 1, "too_young": 1, "too_old": 1, "blacklisted": 1, "formal_education": 1,
        "excluded_occupation": 1,
    }
    assert set(await selected(db, 7)) == {turns_18_on_start["nik"], aged_64["nik"], pardoned["nik"]}
    page = await selection.list_rejections(db, actors.auditor, 7)
    assert {(row.full_name, row.reason) for row in page.rows} == {
        ("Belum Delapan Belas", "too_young"), ("Enam Puluh Lima", "too_old"), ("Masuk Daftar Hitam", "blacklisted"),
        ("Mahasiswa", "formal_education"), ("Pegawai Negeri", "excluded_occupation"), ("NIK Tidak Cocok", "invalid_nik"),
    }
    assert all("*" in row.nik for row in page.rows)
    only = await selection.list_rejections(db, actors.auditor, 7, reason="too_old")
    assert [row.full_name for row in only.rows] == ["Enam Puluh Lima"]
    # Rejected participants stay registered: a later wave considers them again.
    async with read_session(db) as session:
        status = (await session.execute(select(Participant.status).where(Participant.nik == banned["nik"]))).scalar_one()
    assert status == "registered"


async def test_a_wave_is_selected_once_and_only_by_a_coordinator(db, actors):
    await wave_with_people(db, actors, [adult()])
    with pytest.raises(PermissionDenied):
        await selection.select_participants(db, actors.reviewer, 7, seed=1, at=WITHIN_DEADLINE)
    await selection.select_participants(db, actors.coordinator, 7, seed=1, at=WITHIN_DEADLINE)
    with pytest.raises(RuleViolation) as refused:
        await selection.select_participants(db, actors.coordinator, 7, seed=2, at=WITHIN_DEADLINE)
    assert refused.value.key == "wave.already_selected"


async def test_the_scheme_is_locked_once_the_wave_is_in_progress(db, actors):
    wave = await wave_with_people(db, actors, [adult()])
    edited = await waves.update_wave(
        db, actors.admin, wave.id, wave_input(quota=10, balance=3_000_000, starts_on=START), expected_version=wave.version
    )
    assert edited.training_balance_idr == 3_000_000
    await selection.select_participants(db, actors.coordinator, 7, seed=1, at=WITHIN_DEADLINE)
    current = await waves.get_wave(db, actors.admin, 7)
    with pytest.raises(RuleViolation) as refused:
        await waves.update_wave(db, actors.admin, wave.id, wave_input(quota=10, balance=3_500_000, starts_on=START),
                                expected_version=current.version)
    assert refused.value.key == "wave.scheme_locked" and "training_balance_idr" in refused.value.params["fields"]
    later = wave_input(quota=10, balance=3_000_000, starts_on=START)
    later = waves.WaveInput(**{**later.__dict__, "budget_idr": later.budget_idr * 2})
    changed = await waves.update_wave(db, actors.admin, wave.id, later, expected_version=current.version)
    assert changed.budget_idr == later.budget_idr
    # A database login is refused the same (0617): a live wave's balance caps what each of its
    # participants buys, its incentive what each is paid.
    for assignment in ("training_balance_idr = 900000000", "incentive_idr = 6000000", "survey_count = 30",
                       "quota = 1000"):
        with pytest.raises(RuleViolation) as refused:
            async with unit_of_work(db, actors.admin) as uow:
                await uow.session.execute(text(f"UPDATE wave SET {assignment} WHERE id = :id"), {"id": wave.id})
        assert refused.value.key == "wave.scheme_fixed", assignment
    async with unit_of_work(db, actors.admin) as uow:  # what the services may change still changes
        await uow.session.execute(text("UPDATE wave SET budget_idr = budget_idr + 1 WHERE id = :id"), {"id": wave.id})
    assert (await waves.get_wave(db, actors.admin, 7)).training_balance_idr == 3_000_000


async def test_wave_input_is_checked(db, actors):
    with pytest.raises(RuleViolation) as refused:
        await waves.create_wave(db, actors.admin, waves.WaveInput(**{**wave_input().__dict__, "budget_idr": 1_000}))
    assert refused.value.key == "wave.budget_below_balances"
    with pytest.raises(InvalidInput) as refused:
        await waves.create_wave(db, actors.admin, waves.WaveInput(**{**wave_input().__dict__, "quota": 0}))
    assert refused.value.key == "wave.positive" and refused.value.params["field"] == "quota"
    with pytest.raises(PermissionDenied):
        await waves.create_wave(db, actors.coordinator, wave_input())


async def test_the_sweep_revokes_and_blacklists_those_without_a_purchase(db, actors):
    people = [adult() for _ in range(5)]
    await wave_with_people(db, actors, people, quota=5)
    await selection.select_participants(db, actors.coordinator, 7, seed=3, at=WITHIN_DEADLINE)
    listing = await make_listing(db, actors.admin, price=1_000_000)
    chosen = await selected(db, 7)
    buyer = chosen[people[0]["nik"]]
    await enrollments.assign(db, actors.coordinator, buyer.id, listing, at=WITHIN_DEADLINE)
    deadline = START + dt.timedelta(days=15)

    with pytest.raises(RuleViolation) as early:
        await selection.sweep_wave(db, actors.coordinator, 7, today=deadline)
    assert early.value.key == "wave.deadline_not_passed"
    preview = await selection.sweep_preview(db, actors.coordinator, 7, today=deadline + dt.timedelta(days=1))
    assert (preview.revoked, preview.returned_idr) == (4, 14_000_000)
    result = await selection.sweep_wave(db, actors.coordinator, 7, today=deadline + dt.timedelta(days=1))
    assert (result.revoked, result.blacklisted, result.returned_idr) == (4, 4, 14_000_000)

    after = await selected(db, 7)
    assert after[buyer.nik].status == "in_training" and after[buyer.nik].balance_idr == 2_500_000
    for person_ in people[1:]:
        revoked = after[person_["nik"]]
        assert (revoked.status, revoked.balance_idr, revoked.revoke_reason) == ("revoked", 0, "no_purchase")
        assert revoked.card_number is not None  # the card is revoked, never handed out again
    async with read_session(db) as session:
        listed = (await session.execute(select(BlacklistEntry.nik, BlacklistEntry.reason))).all()
    assert sorted(listed) == sorted((p["nik"], "no_purchase") for p in people[1:])
    event = await last_event(db, "wave.swept")
    assert event["details"] == {"deadline": deadline.isoformat(), "revoked": 4, "blacklisted": 4, "returned_idr": 14_000_000}
    funnel = (await waves.list_waves(db, actors.auditor))[0].funnel
    assert (funnel.registered, funnel.selected, funnel.purchased, funnel.completed, funnel.revoked) == (5, 5, 1, 0, 4)
    # A revoked participant holds no active card: no purchase any more.
    with pytest.raises(RuleViolation) as refused:
        await enrollments.assign(db, actors.coordinator, after[people[1]["nik"]].id, listing)
    assert refused.value.key == "enrollment.participant_not_active"


async def test_the_sweep_goes_in_parts_each_its_own_transaction_and_a_cut_short_sweep_finishes_on_rerun(
        db, actors, monkeypatch):
    people = [adult() for _ in range(10)]
    await wave_with_people(db, actors, people, quota=10)
    await selection.select_participants(db, actors.coordinator, 7, seed=3, at=WITHIN_DEADLINE)
    after_deadline = START + dt.timedelta(days=16)
    monkeypatch.setattr(selection, "SWEEP_PART", 3)
    part, parts_run = selection._sweep_part, []

    async def lost_after_two(*args):
        if len(parts_run) == 2:
            raise ConnectionError("server closed the connection")
        parts_run.append(await part(*args))
        return parts_run[-1]

    monkeypatch.setattr(selection, "_sweep_part", lost_after_two)
    with pytest.raises(ConnectionError):
        await selection.sweep_wave(db, actors.coordinator, 7, today=after_deadline)
    # The two parts done are saved whole: six revoked and blacklisted, the wave not yet swept.
    statuses = sorted(p.status for p in (await selected(db, 7)).values())
    assert statuses == ["revoked"] * 6 + ["selected"] * 4
    assert (await waves.get_wave(db, actors.auditor, 7)).swept_at is None
    assert (await selection.sweep_preview(db, actors.coordinator, 7, today=after_deadline)).revoked == 4

    monkeypatch.setattr(selection, "_sweep_part", part)
    result = await selection.sweep_wave(db, actors.coordinator, 7, today=after_deadline)
    assert (result.revoked, result.blacklisted, result.returned_idr) == (4, 4, 4 * 3_500_000)
    assert {p.status for p in (await selected(db, 7)).values()} == {"revoked"}
    assert (await waves.get_wave(db, actors.auditor, 7)).swept_at is not None
    async with read_session(db) as session:
        listed = (await session.execute(select(BlacklistEntry.nik))).scalars().all()
        parts = (await session.execute(
            select(AuditEvent.changes).where(AuditEvent.action == "wave.sweep_part").order_by(AuditEvent.id)
        )).scalars().all()
    assert sorted(listed) == sorted(p["nik"] for p in people)  # each once
    assert [json.loads(changes)["details"]["revoked"] for changes in parts] == [3, 3, 3]
    assert (await last_event(db, "wave.swept"))["details"] == {
        "deadline": (START + dt.timedelta(days=15)).isoformat(), "revoked": 4, "blacklisted": 4,
        "returned_idr": 14_000_000, "parts": 2,
    }


async def test_lifting_a_blacklist_entry_takes_an_admin_a_reason_and_a_decision(db, actors):
    nik_ = adult()["nik"]
    entry = await registry.blacklist_nik(db, actors.coordinator, nik_, "Data ganda", "Dukcapil")
    with pytest.raises(PermissionDenied):
        await registry.lift_blacklist(db, actors.coordinator, entry.id, "alasan", "KEP-1")
    with pytest.raises(InvalidInput) as refused:
        await registry.lift_blacklist(db, actors.admin, entry.id, "   ", "KEP-1")
    assert refused.value.key == "input.required" and refused.value.params["field"] == "reason"
    with pytest.raises(InvalidInput):
        await registry.lift_blacklist(db, actors.admin, entry.id, "Terbukti keliru", "")
    lifted = await registry.lift_blacklist(db, actors.admin, entry.id, "Terbukti keliru", "Keputusan Komite 3/2024")
    assert not lifted.standing and lifted.lift_decision_ref == "Keputusan Komite 3/2024"
    async with read_session(db) as session:
        event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "blacklist.lifted"))).scalar_one()
    assert event.reason == "Terbukti keliru" and event.operator_name == "admin"
    with pytest.raises(RuleViolation):
        await registry.lift_blacklist(db, actors.admin, entry.id, "lagi", "KEP-2")
    again = await registry.blacklist_nik(db, actors.coordinator, nik_, "Temuan baru", "Inspektorat")
    assert again.standing


async def test_a_standing_entry_is_not_listed_twice(db, actors):
    nik_ = adult()["nik"]
    await registry.blacklist_nik(db, actors.coordinator, nik_, "a", "b")
    from store.errors import Conflict

    with pytest.raises(Conflict) as refused:
        await registry.blacklist_nik(db, actors.admin, nik_, "c", "d")
    assert refused.value.key == "blacklist.already_listed"
    async with unit_of_work(db, actors.admin) as uow:  # the partial UNIQUE index says it too
        uow.session.add(BlacklistEntry(nik=nik_, reason="x", source="y", listed_on=START))
        with pytest.raises(DBAPIError):
            await uow.session.flush()


async def test_purchases_racing_the_sweep_leave_exact_books(db_url, actors):
    """Assignments and the sweep of the same wave, at once from two connections: each
    participant ends either revoked (balance returned, counted once) or in training."""
    import asyncio

    from store.engine import create_database
    from store.errors import MitraError

    people = [adult() for _ in range(12)]
    db = create_database(db_url)
    other = create_database(db_url)
    try:
        ids = await add_participants(db, actors.coordinator, people)
        await waves.create_wave(db, actors.admin, wave_input(quota=12, balance=1_000_000, starts_on=START))
        await selection.select_participants(db, actors.coordinator, 7, seed=4, at=WITHIN_DEADLINE)
        listing = await make_listing(db, actors.admin, price=400_000)

        async def buy(participant_id):
            try:
                await enrollments.assign(other, actors.coordinator, participant_id, listing, at=WITHIN_DEADLINE)
                return True
            except MitraError:  # swept first: no active card any more
                return False

        sweep = selection.sweep_wave(db, actors.coordinator, 7, today=START + dt.timedelta(days=30))
        result, *bought = await asyncio.gather(sweep, *(buy(pid) for pid in ids[:6]))
        after = await selected(db, 7)
        revoked = [p for p in after.values() if p.status == "revoked"]
        training = [p for p in after.values() if p.status == "in_training"]
        assert len(revoked) + len(training) == 12 and len(training) == sum(bought)
        assert all(p.balance_idr == 0 for p in revoked) and all(p.balance_idr == 600_000 for p in training)
        assert (result.revoked, result.returned_idr) == (len(revoked), len(revoked) * 1_000_000)
    finally:
        await db.dispose()
        await other.dispose()


def test_wave_commands_select_list_rejections_and_sweep(db_url, tmp_path):
    def run(*args: str):
        return mitra(*args, "--db", db_url, "--lang", "en")

    people = [adult() for _ in range(3)] + [adult(birth=dt.date(2010, 1, 1), name="Anak Sekolah")]
    path = write_csv(tmp_path / "p.csv", people)
    assert run("import", "participants", str(path), "--operator", "coordinator").returncode == 0

    async def make_wave():
        from store.engine import create_database
        from tests.conftest import Actors

        database = create_database(db_url)
        try:
            await waves.create_wave(database, (await Actors(database).load()).admin, wave_input(quota=2, starts_on=recent))
        finally:
            await database.dispose()

    async def let_the_deadline_pass():
        # A month goes by: the wave's window now lies behind us.
        from store.engine import create_database

        database = create_database(db_url)
        try:
            async with database.write_engine.begin() as connection:
                await connection.execute(Wave.__table__.update().values(starts_on=recent - dt.timedelta(days=30)))
        finally:
            await database.dispose()

    import asyncio

    recent = dt.date.today() - dt.timedelta(days=2)
    asyncio.run(make_wave())
    selected_ = run("waves", "select", "7", "--seed", "99", "--operator", "coordinator")
    assert selected_.returncode == 0
    assert "Wave 7 selected with seed 99: 4 registered, 2 selected, 1 not eligible." in selected_.output
    assert "Younger than 18 on the start date: 1" in selected_.output
    listed = run("waves", "list", "--operator", "auditor")
    assert "Registered 4, selected 2, purchased 0, completed 0, revoked 0." in listed.output
    rejected = run("waves", "rejections", "7", "--list", "--operator", "auditor")
    assert "Anak Sekolah" in rejected.output and "Younger than 18" in rejected.output
    denied = run("waves", "sweep", "7", "--operator", "reviewer")
    assert denied.returncode == 1 and "Your roles do not allow this" in denied.output
    early = run("waves", "sweep", "7", "--operator", "coordinator")
    assert early.returncode == 1
    asyncio.run(let_the_deadline_pass())
    swept = run("waves", "sweep", "7", "--operator", "coordinator")
    assert swept.returncode == 0
    assert "2 cards revoked, 2 NIKs blacklisted, Rp7,000,000 returned." in swept.output


def test_the_select_command_tells_its_progress_on_a_terminal(db_url):
    """On a terminal, `mitra waves select` rewrites one line as the registry is read and the cards
    are written (minutes at millions registered); piped, it prints only its result."""
    import asyncio
    import pty

    from tests.cli_support import KEPT, MITRA

    async def prepare():
        from store.engine import create_database
        from tests.conftest import Actors

        database = create_database(db_url)
        try:
            actors = await Actors(database).load()
            await add_participants(database, actors.coordinator, [adult() for _ in range(5)])
            await waves.create_wave(database, actors.admin, wave_input(quota=3, starts_on=dt.date.today()))
        finally:
            await database.dispose()

    asyncio.run(prepare())
    env = {**{key: value for key, value in os.environ.items() if not key.startswith("MITRA_")},
           **{key: os.environ[key] for key in KEPT}, "LANG": "C.UTF-8", "MITRA_PASSWORD": "demo"}
    terminal, errors = pty.openpty()
    try:
        ran = subprocess.run([MITRA, "waves", "select", "7", "--seed", "5", "--db", db_url, "--lang", "en",
                              "--operator", "coordinator"], stdout=subprocess.PIPE, stderr=errors, text=True,
                             env=env, timeout=120)
        os.close(errors)
        told = b""
        while chunk := _read_ready(terminal):
            told += chunk
    finally:
        os.close(terminal)
    assert ran.returncode == 0 and "3 selected" in ran.stdout and " of 8" not in ran.stdout  # the result, piped
    # The registry's 5 read, then the 3 cards written, out of 5 registered and a quota of 3.
    assert b"\r  5 of 8" in told and b"\r  8 of 8" in told, told


def _read_ready(fd: int) -> bytes:
    import select

    if not select.select([fd], [], [], 0.5)[0]:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # the other end closed
        return b""


async def test_no_selection_once_the_purchase_deadline_has_passed(db, actors):
    """Nobody selected after the deadline could buy a first course: the store refuses the draw."""
    await wave_with_people(db, actors, [adult() for _ in range(3)], quota=3)
    after = dt.datetime.combine(START + dt.timedelta(days=16), dt.time(9), tzinfo=dt.UTC)
    with pytest.raises(RuleViolation) as refused:
        await selection.select_participants(db, actors.coordinator, 7, seed=1, at=after)
    assert refused.value.key == "wave.selection_after_deadline"
    assert await selected(db, 7) == {}
    # The last day of the window still selects.
    last_day = dt.datetime.combine(START + dt.timedelta(days=15), dt.time(9), tzinfo=dt.UTC)
    assert (await selection.select_participants(db, actors.coordinator, 7, seed=1, at=last_day)).selected == 3


def test_the_draw_keeps_only_its_contenders_and_picks_as_over_everyone():
    """A draw over 20 million kept only a wave's worth (selection.Contenders); what it picks,
    and in which order, must be what ranking everyone picks, whatever the quotas."""
    import random

    from store.services.selection import Contenders, draw_key, pick

    rng = random.Random(16)
    provinces = ["11", "31", "32", "33", "35", "94"]
    for _ in range(200):
        people = [(n, rng.choice(provinces), rng.randint(1, 3)) for n in range(rng.randint(0, 400))]
        quotas = {province: rng.randint(0, 30) for province in rng.sample(provinces, rng.randint(0, 4))}
        quota = sum(quotas.values()) + rng.randint(0, 60)
        seed = rng.randrange(2**63)
        everyone = sorted((draw_key(seed, f"{n:016d}"), n, province) for n, province, _version in people)
        expected = pick(((n, province) for _key, n, province in everyone), quota, quotas)
        contenders = Contenders(quota, quotas)
        for n, province, version in people:
            contenders.offer(draw_key(seed, f"{n:016d}"), n, province, version)
        ranked = contenders.ranked()
        assert pick(((n, province) for n, province, _version in ranked), quota, quotas) == expected
        assert len(ranked) <= quota  # a wave's worth, not the registry
        versions = dict((n, version) for n, _province, version in people)
        assert all(version == versions[n] for n, _province, version in ranked)
