"""The registry as operators read it: search by NIK or name, filters, keyset pages, masked NIKs
and the audited reveal, platform staff's scope, participant lists, the participant's file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from store.errors import InvalidInput, PermissionDenied
from store.models import AuditEvent, Participant
from store.services import enrollments, participant_file, participant_lists, registry, selection, waves
from store.services.registry import ParticipantFilter, mask_nik
from store.uow import read_session
from tests.participants_support import add_participants, all_pages, make_listing, person, raw_registration, wave_input


def test_mask_keeps_province_regency_and_the_last_two_digits():
    assert mask_nik("3201234567890001") == "3201**********01"


async def test_search_by_nik_by_any_word_of_the_name_and_by_a_name_prefix(db, actors):
    people = [person(name="Siti Ánisa"), person(name="SITI aminah"), person(name="Sitompul Rudi"),
              person(name="Budi Siti")]
    await add_participants(db, actors.coordinator, people)
    by_nik = await registry.list_participants(db, actors.reviewer, ParticipantFilter(search=people[2]["nik"]))
    assert [row.full_name for row in by_nik.rows] == ["Sitompul Rudi"]
    # Any word of the name, anywhere in it, ignoring case and accents; paged by id.
    by_word = await all_pages(db, actors.reviewer, ParticipantFilter(search="siti a"), limit=1)
    assert [row.full_name for row in by_word] == ["Siti Ánisa", "SITI aminah", "Budi Siti"]
    accented = await all_pages(db, actors.reviewer, ParticipantFilter(search="SÍTI ANI"))
    assert [row.full_name for row in accented] == ["Siti Ánisa"]
    # Fewer than three letters: the start of the name, in name order.
    by_prefix = await all_pages(db, actors.reviewer, ParticipantFilter(search="SI"), limit=2)
    assert [row.full_name for row in by_prefix] == ["SITI aminah", "Siti Ánisa", "Sitompul Rudi"]


async def test_a_surname_and_a_part_of_a_nik_find_their_participant(db, actors):
    """Operators remember a surname ("widjaja") or a few digits from the middle of a NIK."""
    people = [person(name="Budi Widjaja", birth=dt.date(1964, 11, 28)), person(name="Widjajanti Rahayu"),
              person(name="Agus Salim", birth=dt.date(1982, 3, 9))]
    await add_participants(db, actors.coordinator, people)
    surname = await all_pages(db, actors.reviewer, ParticipantFilter(search="widjaja"))
    assert [row.full_name for row in surname] == ["Budi Widjaja", "Widjajanti Rahayu"]
    middle = people[0]["nik"][5:12]  # no prefix, no suffix: the middle of the NIK
    found = await all_pages(db, actors.reviewer, ParticipantFilter(search=middle))
    assert [row.full_name for row in found] == ["Budi Widjaja"]
    assert found[0].nik == mask_nik(people[0]["nik"])  # still masked
    # The first digits narrow by region: a prefix of the NIK.
    region = await all_pages(db, actors.reviewer, ParticipantFilter(search=people[2]["nik"][:4]))
    assert {row.full_name for row in region} == {"Budi Widjaja", "Widjajanti Rahayu", "Agus Salim"}
    quoted = await all_pages(db, actors.reviewer, ParticipantFilter(search='wid"jaja%'))
    assert quoted == []  # typed quotes and wildcards are text, never syntax


async def test_the_search_follows_every_change_of_name_or_nik_however_made_and_not_a_change_of_status(db, actors):
    """The trigram search is a table apart kept by the database's triggers (store/search.py), so
    what a database login writes is found too; and a change of status leaves it untouched (on
    PostgreSQL a selection or a sweep rewrote every person's trigrams, and a registration paid
    for merging them: 6.5 s at 20 million)."""
    from sqlalchemy import text

    budi, agus = person(name="Budi Widjaja"), person(name="Agus Salim")
    budi_id, agus_id = await add_participants(db, actors.coordinator, [budi, agus])
    new_nik = person(name="-", birth=dt.date(1977, 1, 2))["nik"]

    async def found(typed: str) -> list[int]:
        return [row.id for row in await all_pages(db, actors.reviewer, ParticipantFilter(search=typed))]

    async def raw(statement: str, **values) -> None:
        async with db.engine.begin() as connection:
            await connection.execute(text(statement), values)

    async def search_row_version() -> str:
        async with db.engine.connect() as connection:
            return str((await connection.execute(text("SELECT xmin FROM participant_search WHERE id = :id"),
                                                 {"id": budi_id})).scalar_one())

    if not db.is_sqlite:
        before = await search_row_version()
        # Another indexed column (as status, wave and card are): PostgreSQL cannot update the row in place.
        await raw("UPDATE participant SET province_code = '33', version = version + 1 WHERE id = :id", id=budi_id)
        assert await search_row_version() == before, "a change of another column rewrote the search's row"
        async with db.engine.connect() as connection:
            trigram_indexes = (await connection.execute(text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'participant' AND indexdef LIKE '%gin%'"
            ))).scalars().all()
        assert trigram_indexes == []  # none left on the table whose statuses change
    assert await found("widjaja") == [budi_id]
    await raw("UPDATE participant SET full_name = 'Rahmat Hidayat', name_key = 'rahmat hidayat' WHERE id = :id",
              id=budi_id)
    assert await found("hidayat") == [budi_id]
    assert await found("widjaja") == []
    await raw("UPDATE participant SET nik = :nik WHERE id = :id", nik=new_nik, id=budi_id)
    assert await found(new_nik[8:16]) == [budi_id]  # the month and year of birth, and the serial
    assert await found(budi["nik"][8:16]) == []
    async with db.engine.begin() as connection:
        await connection.execute(*raw_registration(person(name="-")["nik"], "Dewi Lestari", like=agus_id))
    assert len(await found("lestari")) == 1
    await raw("DELETE FROM participant WHERE id = :id", id=agus_id)
    assert await found("salim") == []
    if not db.is_sqlite:  # the owner empties the registry and starts its ids again
        await raw("TRUNCATE participant RESTART IDENTITY CASCADE")
        [again] = await add_participants(db, actors.coordinator, [person(name="Sri Mulyani")])
        assert again == budi_id  # the id the old name was searched under
        assert await found("mulyani") == [again]
        assert await found("hidayat") == []


async def test_a_search_stays_within_platform_staffs_scope(db, actors):
    await add_participants(db, actors.coordinator, [person(name="Budi Widjaja")])
    assert await all_pages(db, actors.reviewer, ParticipantFilter(search="widjaja"))
    # Platform staff see only people who bought on their platform: this one bought nothing.
    assert await all_pages(db, actors.tokopedia, ParticipantFilter(search="widjaja")) == []


async def test_filters_and_keyset_pages_cover_every_row_once(db, actors):
    people = [person(province=code, birth=dt.date(1990, 1, 1)) for code in ["32", "96"] * 5]
    await add_participants(db, actors.coordinator, people)
    wave = await waves.create_wave(db, actors.admin, wave_input(quota=4))
    await selection.select_participants(db, actors.coordinator, 7, seed=9)
    everyone = await all_pages(db, actors.auditor, ParticipantFilter())
    assert len(everyone) == 10 and len({row.id for row in everyone}) == 10
    assert [row.status for row in everyone] == sorted(row.status for row in everyone)  # pages by (status, id)
    in_wave = await all_pages(db, actors.auditor, ParticipantFilter(wave_id=wave.id))
    assert len(in_wave) == 4 and {row.wave_number for row in in_wave} == {7}
    papua = await all_pages(db, actors.auditor, ParticipantFilter(province="96", status="registered"))
    assert {row.province_code for row in papua} == {"96"} and {row.status for row in papua} == {"registered"}
    assert len(papua) == 5 - sum(1 for row in in_wave if row.province_code == "96")
    with pytest.raises(InvalidInput):
        await registry.list_participants(db, actors.auditor, ParticipantFilter(province="99"))


async def test_lists_mask_niks_and_revealing_one_is_audited(db, actors):
    (pid,) = await add_participants(db, actors.coordinator, [one := person()])
    page = await registry.list_participants(db, actors.coordinator, ParticipantFilter())
    assert page.rows[0].nik == one["nik"][:4] + "**********" + one["nik"][-2:]
    with pytest.raises(PermissionDenied):
        await registry.reveal_nik(db, actors.reviewer, pid, "curious")
    assert await registry.reveal_nik(db, actors.auditor, pid, "Pengaduan peserta") == one["nik"]
    async with read_session(db) as session:
        event = (await session.execute(select(AuditEvent).where(AuditEvent.action == "participant.nik_revealed"))).scalar_one()
    assert (event.operator_name, event.entity_id, event.reason) == ("auditor", str(pid), "Pengaduan peserta")
    assert one["nik"] not in event.changes


async def enrolled_on(db, actors, platform_code: str, count: int = 1) -> list[int]:
    ids = await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(count)])
    number = 10 + len(platform_code)
    await waves.create_wave(db, actors.admin, wave_input(number, quota=count))
    await selection.select_participants(db, actors.coordinator, number, seed=1)
    listing = await make_listing(db, actors.admin, platform_code=platform_code, title=f"Kelas {platform_code}")
    for pid in ids:
        await enrollments.assign(db, actors.coordinator, pid, listing)
    return ids


async def test_platform_staff_see_only_their_buyers(db, actors):
    ours = await enrolled_on(db, actors, "tokopedia")
    theirs = await enrolled_on(db, actors, "pintaria")
    await add_participants(db, actors.coordinator, [person()])
    visible = await all_pages(db, actors.tokopedia, ParticipantFilter())
    assert [row.id for row in visible] == ours
    file = await participant_file.get_participant(db, actors.tokopedia, ours[0])
    assert [e.platform_name for e in file.enrollments] == ["Tokopedia"]
    with pytest.raises(PermissionDenied):
        await participant_file.get_participant(db, actors.tokopedia, theirs[0])


async def export_rows(db, actor, **scope) -> list[dict[str, str]]:
    text = "".join([chunk async for chunk in participant_lists.export_participant_list(db, actor, **scope)])
    return list(csv.DictReader(io.StringIO(text)))


async def test_participant_lists_mask_niks_except_for_roles_that_may_see_them(db, actors):
    await enrolled_on(db, actors, "tokopedia", count=2)
    await enrolled_on(db, actors, "pintaria")
    async with read_session(db) as session:
        niks = set((await session.execute(select(Participant.nik))).scalars())
    staff = await export_rows(db, actors.tokopedia)
    assert len(staff) == 2 and all(row["nik"] not in niks and "*" in row["nik"] for row in staff)
    assert {row["platform"] for row in staff} == {"Tokopedia"}
    office = await export_rows(db, actors.coordinator, platform_code="tokopedia")
    assert {row["nik"] for row in office} <= niks and len(office) == 2
    with pytest.raises(PermissionDenied):
        await export_rows(db, actors.tokopedia, platform_code="pintaria")
    with pytest.raises(InvalidInput):
        await export_rows(db, actors.coordinator)
    async with read_session(db) as session:
        exported = (await session.execute(
            select(AuditEvent.operator_name, AuditEvent.changes).where(AuditEvent.action == "participant.list_exported")
            .order_by(AuditEvent.id)  # in the order they happened, not as the table's pages hold them
        )).all()
    assert [(name, '"masked"' in changes) for name, changes in exported] == [("tokopedia", True), ("coordinator", False)]


async def test_participant_file_shows_enrollments_hits_and_history(db, actors):
    (pid,) = await enrolled_on(db, actors, "tokopedia")
    async with read_session(db) as session:
        nik_ = (await session.get(Participant, pid)).nik
    await registry.blacklist_nik(db, actors.coordinator, nik_, "Temuan audit", "BPK")
    file = await participant_file.get_participant(db, actors.coordinator, pid)
    assert file.nik == mask_nik(nik_) and file.status == "in_training" and file.wave_number == 19
    assert file.active_enrollment is not None and file.active_enrollment.course_title == "Kelas tokopedia"
    assert [entry.source for entry in file.blacklist] == ["BPK"]
    assert [event.action for event in file.history] == [
        "enrollment.assigned", "participant.balance_charged", "blacklist.added",
    ]


async def test_phone_email_and_family_card_are_masked_and_revealed_one_at_a_time_with_a_reason(db, actors):
    from store.errors import NotFound
    from store.services import participant_file

    one = person()
    one["email"] = "budi.santoso@contoh.id"
    (pid,) = await add_participants(db, actors.coordinator, [one])
    shown = await participant_file.get_participant(db, actors.coordinator, pid)
    assert (shown.phone, shown.email, shown.family_card) == (
        "0812****7890", "b***@contoh.id", one["family_card"][:4] + "**********" + one["family_card"][-2:])
    assert one["phone"] not in repr(shown) and one["email"] not in repr(shown)

    with pytest.raises(InvalidInput):  # a reason is required
        await registry.reveal(db, actors.coordinator, pid, "phone", "  ")
    with pytest.raises(PermissionDenied):  # reviewers do not reach participants
        await registry.reveal(db, actors.reviewer, pid, "phone", "calling")
    with pytest.raises(PermissionDenied):  # platform staff: only their own platform's participants
        await registry.reveal(db, actors.tokopedia, pid, "email", "certificate")
    with pytest.raises(InvalidInput):
        await registry.reveal(db, actors.coordinator, pid, "balance_idr", "curious")
    with pytest.raises(NotFound):
        await registry.reveal(db, actors.coordinator, pid + 999, "phone", "calling")
    assert await registry.reveal(db, actors.coordinator, pid, "phone", "Calling about the course") == one["phone"]
    assert await registry.reveal(db, actors.coordinator, pid, "email", "Certificate by mail") == one["email"]
    async with read_session(db) as session:
        events = (await session.execute(
            select(AuditEvent).where(AuditEvent.action == "participant.personal_data_revealed").order_by(AuditEvent.id)
        )).scalars().all()
    assert [(e.operator_name, e.reason, json.loads(e.changes)["details"]["field"]) for e in events] == [
        ("coordinator", "Calling about the course", "phone"), ("coordinator", "Certificate by mail", "email")]
    assert all(one["phone"] not in e.changes and one["email"] not in e.changes for e in events)


async def test_counts_are_exact_when_cheap_an_estimate_marked_as_one_beyond_and_scoped(db, actors, monkeypatch):
    from store import counting

    await add_participants(db, actors.coordinator, [person(name=f"Budi Widjaja {n}") for n in range(30)]
                           + [person(name="Agus Salim")])
    exact = await registry.count_participants(db, actors.reviewer, ParticipantFilter(search="widjaja"))
    assert (exact.value, exact.exact) == (30, True)
    assert (await registry.count_participants(db, actors.tokopedia, ParticipantFilter())).value == 0  # scoped
    everyone = await registry.count_participants(db, actors.reviewer, ParticipantFilter(status="registered"))
    assert (everyone.value, everyone.exact) == (31, True)  # from the tally, exactly
    monkeypatch.setattr(counting, "EXACT_UP_TO", 10)
    beyond = await registry.count_participants(db, actors.reviewer, ParticipantFilter(province="32"))
    if db.is_sqlite:
        assert (beyond.value, beyond.exact) == (31, True)  # no estimate to ask for: counted
    else:
        assert beyond.exact is False and beyond.value > 10  # the planner's estimate, marked


async def test_the_registry_sorts_by_status_by_name_or_newest_first_across_pages(db, actors):
    names = ["Zahra Putri", "Ahmad Fauzi", "Made Wirawan", "Budi Santoso", "Citra Lestari", "Eko Prasetyo", "Dewi Anggraini"]
    ids = await add_participants(db, actors.coordinator, [person(name=name) for name in names])
    await waves.create_wave(db, actors.admin, wave_input(quota=2))
    await selection.select_participants(db, actors.coordinator, 7, seed=1)

    by_status = await all_pages(db, actors.coordinator, ParticipantFilter())
    assert [(row.status, row.id) for row in by_status] == sorted((row.status, row.id) for row in by_status)
    assert {row.status for row in by_status} == {"registered", "selected"}
    by_name = await all_pages(db, actors.coordinator, ParticipantFilter(sort="name"))
    assert [row.full_name for row in by_name] == sorted(names)
    newest = await all_pages(db, actors.coordinator, ParticipantFilter(sort="newest"))
    assert [row.id for row in newest] == sorted(ids, reverse=True)
    # Within a filter too: the wave's participants by name.
    assert len(await all_pages(db, actors.coordinator, ParticipantFilter(status="selected", sort="name"))) == 2
    with pytest.raises(InvalidInput) as refused:
        await registry.list_participants(db, actors.coordinator, ParticipantFilter(sort="nik"))
    assert refused.value.key == "list.sort_unknown"


async def test_a_common_part_of_a_name_gives_the_same_pages_walked_or_through_the_index(db, actors, monkeypatch):
    """A part many names share is found by walking the registry in id order (store/search.py):
    the pages must be those the trigram index gives, row for row."""
    from sqlalchemy import text

    from store import search

    people = [person(name="Siti Nasution" if n % 4 == 0 else "Budi Santoso") for n in range(2000)]
    people.append(person(name="Rina Widjaja"))
    await add_participants(db, actors.coordinator, people)
    if not db.is_sqlite:
        async with db.engine.begin() as connection:
            await connection.execute(text("ANALYZE participant"))  # what autovacuum does: its size known
    # A registry this size counts as a large one: a sample decides.
    monkeypatch.setattr(search, "SAMPLE_ROWS", 200)
    monkeypatch.setattr(search, "COMMON_HITS", 5)
    async with read_session(db) as session:
        assert await search.walks_ids(session, search.parse("nasution"), db.is_sqlite)
        assert not await search.walks_ids(session, search.parse("widjaja"), db.is_sqlite)
        assert not await search.walks_ids(session, search.parse("SI"), db.is_sqlite)  # a name prefix: its own index
    walked = await all_pages(db, actors.reviewer, ParticipantFilter(search="nasution"), limit=40)
    monkeypatch.setattr(search, "COMMON_HITS", 10**9)  # nothing is common: always the index
    indexed = await all_pages(db, actors.reviewer, ParticipantFilter(search="nasution"), limit=40)
    assert len(walked) == 500 and {row.full_name for row in walked} == {"Siti Nasution"}
    assert [row.id for row in walked] == [row.id for row in indexed] == sorted(row.id for row in indexed)
    both = await all_pages(db, actors.reviewer, ParticipantFilter(search="siti nasution", province="32"), limit=99)
    assert [row.id for row in both] == [row.id for row in walked]


async def test_a_filtered_list_in_another_order_reads_the_same_sorted_or_walked(db, actors, monkeypatch):
    """Under a wave, province or status filter, a list by name or newest first either sorts the
    rows the filter keeps (few, by the tally) or walks its order's index (many): the pages are the
    same either way. On SQLite the walk is forced (its planner cannot tell); PostgreSQL chooses
    from statistics, refreshed right after the selection."""
    from sqlalchemy import text

    names = ["Zahra Putri", "Ahmad Fauzi", "Made Wirawan", "Budi Santoso", "Citra Lestari", "Eko Prasetyo",
             "Dewi Anggraini", "Fajar Nugroho", "Gita Maharani"]
    await add_participants(db, actors.coordinator, [person(name=name) for name in names])
    await waves.create_wave(db, actors.admin, wave_input(quota=6))
    await selection.select_participants(db, actors.coordinator, 7, seed=3)
    wave = await waves.get_wave(db, actors.admin, 7)
    if not db.is_sqlite:  # the selection refreshed the planner's statistics
        async with db.engine.connect() as connection:
            analysed = (await connection.execute(text(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'participant'"))).scalar_one()
        assert analysed is not None
    lists = [ParticipantFilter(wave_id=wave.id, sort="name"), ParticipantFilter(wave_id=wave.id, sort="newest"),
             ParticipantFilter(status="selected", sort="name"), ParticipantFilter(province="32", sort="name"),
             ParticipantFilter(wave_id=wave.id, province="32", sort="newest")]
    sorted_pages = [await all_pages(db, actors.coordinator, filters, limit=2) for filters in lists]
    monkeypatch.setattr(registry, "SORTED_AT_MOST", 2)  # now the wave counts as a large one
    async with read_session(db) as session:
        assert await registry._walks_its_order(session, lists[0], "name")
        assert not await registry._walks_its_order(session, ParticipantFilter(status="revoked", sort="name"), "name")
    walked_pages = [await all_pages(db, actors.coordinator, filters, limit=2) for filters in lists]
    assert walked_pages == sorted_pages
    in_wave = sorted_pages[0]
    assert len(in_wave) == 6 and [row.full_name for row in in_wave] == sorted(row.full_name for row in in_wave)
    assert [row.id for row in sorted_pages[1]] == sorted((row.id for row in in_wave), reverse=True)
    assert len(sorted_pages[3]) == len(names)  # person() gives West Java (32) NIKs
    if db.is_sqlite:  # and the walk is what SQLite does: the name index in order, no sort
        from store.models import Participant
        from store.sorting import ordered
        from sqlmodel import col, select as select_

        query = ordered(registry.filtered(select_(col(Participant.id)), lists[0], actors.coordinator, is_sqlite=True,
                                          walk_order=True), registry.PARTICIPANT_ORDERS, "name", None, 2)
        async with db.engine.connect() as connection:
            compiled = query.compile(connection.sync_connection)
            plan = " ".join(row[3] for row in (await connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params[name] for name in compiled.positiontup))))
        assert "ix_participant_name_key_id" in plan and "TEMP B-TREE" not in plan, plan


async def test_refreshing_statistics_never_fails_the_write_that_asked_for_it(caplog):
    from store.engine import create_database, refresh_statistics

    nowhere = create_database("postgresql://postgres@127.0.0.1:1/mitra")  # no server listens there
    try:
        await refresh_statistics(nowhere, "participant")  # returns: the selection has committed
    finally:
        await nowhere.dispose()
    assert "ANALYZE participant failed" in caplog.text
