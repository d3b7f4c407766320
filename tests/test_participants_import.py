"""Importing the registry and exclusion lists: the CSV contract, rejections, duplicates,
re-runs, interruptions and the command's exit statuses."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import json

import pytest
from sqlalchemy import select

from store.errors import InvalidInput
from store.models import AuditEvent, ExclusionEntry, ExclusionList, Participant
from store.services import participant_import
from store.uow import read_session
from tests.participants_support import HEADER, person, write_csv
from tests.cli_support import mitra


async def registry(db) -> dict[str, Participant]:
    async with read_session(db) as session:
        return {p.nik: p for p in (await session.execute(select(Participant))).scalars()}


async def events(db, action: str) -> list[dict]:
    async with read_session(db) as session:
        rows = (await session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))).scalars()
        return [json.loads(row.changes) for row in rows]


def mixed_rows() -> list[dict[str, str]]:
    good = person(name="Siti Ánisa", sex="F", birth=dt.date(1995, 2, 28))
    bad_date = person()
    bad_date["nik"] = bad_date["nik"][:6] + "310299" + bad_date["nik"][12:]  # 31 February
    wrong_sex = person(sex="M")
    wrong_sex["sex"] = "F"
    no_name = person()
    no_name["full_name"] = "  "
    bad_contacts = person()
    bad_contacts["email"] = "not-an-address"
    bad_contacts["family_card"] = "12345"
    return [good, bad_date, wrong_sex, no_name, bad_contacts, person(province="96", name="Yohana Wenda")]


async def test_a_good_file_is_imported_whole(db, actors, tmp_path):
    rows = [person(name="Budi Santoso"), person(sex="F", name="Dewi Lestari", province="96"),
            person(sex="F", birth=dt.date(2000, 2, 29), name="Ayu Kartika")]
    report = await participant_import.import_participants(db, actors.coordinator, write_csv(tmp_path / "good.csv", rows))
    assert (report.read, report.imported, report.rejected, report.exit_status) == (3, 3, 0, 0)
    stored = await registry(db)
    leap = stored[rows[2]["nik"]]
    assert (leap.birth_date, leap.sex, leap.province_code, leap.status) == (dt.date(2000, 2, 29), "F", "32", "registered")
    assert stored[rows[1]["nik"]].province_code == "96"
    assert stored[rows[0]["nik"]].name_key == "budi santoso"
    assert [event["details"]["imported"] for event in await events(db, "participant.imported")] == [3]


async def test_a_mixed_file_imports_the_valid_rows_and_names_every_wrong_field(db, actors, tmp_path):
    path = write_csv(tmp_path / "mixed.csv", mixed_rows())
    report = await participant_import.import_participants(db, actors.coordinator, path)
    assert (report.read, report.imported, report.rejected, report.exit_status) == (6, 2, 4, 2)
    found = {(error.line, error.column, error.key) for error in report.errors}
    assert found == {
        (3, "nik", "input.nik.date"),
        (4, "nik", "input.nik.sex_mismatch"),
        (5, "full_name", "input.required"),
        (6, "email", "input.email"),
        (6, "family_card", "input.family_card"),
    }
    assert {p.full_name for p in (await registry(db)).values()} == {"Siti Ánisa", "Yohana Wenda"}


async def test_a_value_past_its_column_is_refused_with_the_column_named(db, actors, tmp_path):
    # Well formed, so no field's own check refuses it; the column guard does, once per row.
    long_mail = person()
    long_mail["email"] = "a" * 200 + "@example.id"
    path = write_csv(tmp_path / "long.csv", [person(), long_mail])
    report = await participant_import.import_participants(db, actors.coordinator, path)
    assert (report.read, report.imported, report.rejected) == (2, 1, 1)
    assert [(error.line, error.column, error.key) for error in report.errors] == [(3, "email", "input.too_long")]
    assert long_mail["nik"] not in await registry(db)


async def test_nik_repeated_in_the_file_is_rejected_naming_the_first_line(db, actors, tmp_path):
    twin = person()
    rows = [twin, person(), dict(twin, full_name="Someone Else")]
    report = await participant_import.import_participants(db, actors.coordinator, write_csv(tmp_path / "dup.csv", rows))
    assert report.imported == 2
    (error,) = report.errors
    assert (error.line, error.column, error.key, error.params["first_line"]) == (4, "nik", "participant.duplicate_in_file", 2)
    assert (await registry(db))[twin["nik"]].full_name == twin["full_name"]


async def test_a_wrong_header_refuses_the_whole_file(db, actors, tmp_path):
    path = write_csv(tmp_path / "header.csv", [person()], header=["nik", "name", "birth_date", "sex", "phone", "email", "family_card"])
    with pytest.raises(InvalidInput) as refused:
        await participant_import.import_participants(db, actors.coordinator, path)
    assert refused.value.key == "input.csv.header"
    assert refused.value.params["missing"] == "full_name" and refused.value.params["unknown"] == "name"
    assert await registry(db) == {}


@pytest.mark.parametrize("delimiter,bom", [(";", False), (",", True), (";", True)])
async def test_semicolons_and_a_byte_order_mark_are_read(db, actors, tmp_path, delimiter, bom):
    rows = [person(name="Rahmat Hidayat"), person(name="Putu Ayu", sex="F")]
    path = write_csv(tmp_path / "excel.csv", rows, delimiter=delimiter, bom=bom)
    report = await participant_import.import_participants(db, actors.coordinator, path)
    assert (report.imported, report.rejected) == (2, 0)
    assert set(await registry(db)) == {row["nik"] for row in rows}


async def test_running_the_same_file_again_imports_nothing_new(db, actors, tmp_path):
    path = write_csv(tmp_path / "again.csv", [person(), person(), person()])
    first = await participant_import.import_participants(db, actors.coordinator, path)
    before = await registry(db)
    second = await participant_import.import_participants(db, actors.coordinator, path)
    assert (first.imported, second.imported, second.rejected) == (3, 0, 3)
    assert {error.key for error in second.errors} == {"participant.duplicate_nik"}
    assert (await registry(db)).keys() == before.keys()
    assert len(await events(db, "participant.imported")) == 1


async def test_a_dry_run_reports_and_writes_nothing(db, actors, tmp_path):
    report = await participant_import.import_participants(
        db, actors.coordinator, write_csv(tmp_path / "dry.csv", mixed_rows()), dry_run=True
    )
    assert (report.imported, report.rejected) == (2, 4)
    assert await registry(db) == {}


async def test_an_interrupted_import_keeps_whole_batches_and_can_be_run_again(db, actors, tmp_path):
    rows = [person() for _ in range(10)]
    path = write_csv(tmp_path / "big.csv", rows)

    def interrupt(done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await participant_import.import_participants(db, actors.coordinator, path, batch_rows=4, progress=interrupt)
    assert set(await registry(db)) == {row["nik"] for row in rows[:4]}  # the first batch, whole
    again = await participant_import.import_participants(db, actors.coordinator, path, batch_rows=4)
    assert (again.imported, again.rejected) == (6, 4)
    assert set(await registry(db)) == {row["nik"] for row in rows}


async def test_a_stop_between_batches_keeps_the_batch_being_written_and_counts_it(db, actors, tmp_path):
    # The next rows are read while a batch is written: a stop asked then ends the reading, and
    # the batch already on its way still commits whole and is counted.
    rows = [person() for _ in range(10)]
    path = write_csv(tmp_path / "stop.csv", rows)
    report = await participant_import.import_participants(db, actors.coordinator, path, batch_rows=4,
                                                           should_stop=lambda: True)
    assert report.imported == 4
    assert set(await registry(db)) == {row["nik"] for row in rows[:4]}
    assert len(await events(db, "participant.imported")) == 1  # one batch, one audit event


async def test_an_import_cancelled_while_a_batch_is_written_leaves_what_it_said_was_saved(db, actors, tmp_path):
    """An operator closing the console cancels the import wherever it is, perhaps reading rows
    while a batch is on its way to the database: that batch commits whole (or not at all), the
    registry holds exactly the lines progress reported as saved, and a rerun imports the rest."""
    rows = [person() for _ in range(60)]
    path = write_csv(tmp_path / "cancel.csv", rows)
    saved: list[int] = []

    def cancel_once_saving(done, total):
        saved.append(done)
        importing.cancel()

    importing = asyncio.ensure_future(
        participant_import.import_participants(db, actors.coordinator, path, batch_rows=20, progress=cancel_once_saving))
    with pytest.raises(asyncio.CancelledError):
        await importing
    lines_saved = saved[-1] - 1  # the header is line 1
    assert lines_saved in (20, 40)
    assert set(await registry(db)) == {row["nik"] for row in rows[:lines_saved]}
    again = await participant_import.import_participants(db, actors.coordinator, path, batch_rows=20)
    assert (again.imported, again.rejected) == (60 - lines_saved, lines_saved)


async def test_duplicates_are_found_across_batches(db, actors, tmp_path):
    rows = [person() for _ in range(5)]
    path = write_csv(tmp_path / "batches.csv", rows + [rows[0], rows[4]])
    report = await participant_import.import_participants(db, actors.coordinator, path, batch_rows=2)
    assert report.imported == 5
    assert [(error.line, error.params["first_line"]) for error in report.errors] == [(7, 2), (8, 6)]


async def test_only_admins_and_coordinators_import(db, actors, tmp_path):
    from store.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        await participant_import.import_participants(db, actors.reviewer, write_csv(tmp_path / "p.csv", [person()]))


# --- the command ---------------------------------------------------------------------------


invoke = mitra


def test_command_exit_status_0_2_1_with_a_summary_and_an_error_file(db_url, tmp_path):
    good = write_csv(tmp_path / "good.csv", [person(), person()])
    result = invoke("import", "participants", str(good), "--db", db_url, "--operator", "coordinator", "--lang", "en")
    assert result.returncode == 0, result.output
    assert "Read 2 rows: 2 imported, 0 rejected." in result.output

    errors = tmp_path / "errors.csv"
    rows = mixed_rows()
    mixed = write_csv(tmp_path / "mixed.csv", rows)
    result = invoke("import", "participants", str(mixed), "--errors", str(errors), "--db", db_url,
                    "--operator", "coordinator", "--lang", "en")
    assert result.returncode == 2
    assert "Read 6 rows: 2 imported, 4 rejected." in result.output
    assert "line 3, column nik: NIK" in result.output and "is not a real date" in result.output
    with errors.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    # Each rejected row as it was, in the file's own columns, with its line and every reason.
    assert [row["error_line"] for row in lines] == ["3", "4", "5", "6"]
    assert [row["nik"] for row in lines] == [row["nik"] for row in rows[1:5]]
    assert lines[2]["error_reason"] == "Full name is required."
    assert "E-mail" in lines[3]["error_reason"] and "; " in lines[3]["error_reason"]

    # Fixed in the errors file itself, which is then imported as it is.
    fixed = []
    for row in lines:
        row["full_name"] = row["full_name"] or "Nama Diperbaiki"
        row["email"] = "" if row["email"] == "not-an-address" else row["email"]
        row["family_card"] = row["nik"][:2] + "01020000000001" if row["family_card"] == "12345" else row["family_card"]
        fixed.append(row)
    with errors.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(fixed)
    result = invoke("import", "participants", str(errors), "--db", db_url, "--operator", "coordinator", "--lang", "en")
    assert "Read 4 rows: 2 imported, 2 rejected." in result.output  # the two bad NIKs still need a fix

    wrong = write_csv(tmp_path / "wrong.csv", [person()], header=HEADER[:-1])
    result = invoke("import", "participants", str(wrong), "--db", db_url, "--operator", "coordinator", "--lang", "en")
    assert result.returncode == 1
    assert "Wrong header" in result.output and "missing: family_card" in result.output


def test_command_dry_run_and_rerun(db_url, tmp_path):
    path = write_csv(tmp_path / "p.csv", [person(), person()])
    dry = invoke("import", "participants", str(path), "--dry-run", "--db", db_url, "--operator", "admin", "--lang", "en")
    assert dry.returncode == 0 and "Dry run: read 2 rows, 2 would be imported" in dry.output
    assert invoke("import", "participants", str(path), "--db", db_url, "--operator", "admin").returncode == 0
    rerun = invoke("import", "participants", str(path), "--db", db_url, "--operator", "admin", "--lang", "en")
    assert rerun.returncode == 2 and "0 imported, 2 rejected" in rerun.output


# --- exclusion lists -----------------------------------------------------------------------


async def test_exclusion_list_is_imported_with_kind_source_and_date(db, actors, tmp_path):
    from tests.participants_support import add_participants

    student = person(name="Mahasiswa Aktif")
    await add_participants(db, actors.coordinator, [student, person()])
    outsider = person()
    path = tmp_path / "pddikti.csv"
    path.write_text(
        f"nik,detail\n{student['nik']},Universitas Indonesia\n{outsider['nik']},\n12345,\n{student['nik']},again\n",
        encoding="utf-8",
    )
    result = await participant_import.import_exclusions(
        db, actors.coordinator, path, "formal_education", "PDDikti", dt.date(2021, 6, 1)
    )
    assert (result.report.imported, result.report.rejected, result.registry_hits) == (2, 2, 1)
    assert [(e.line, e.key) for e in result.report.errors] == [(4, "input.nik.length"), (5, "participant.duplicate_in_file")]
    async with read_session(db) as session:
        listing = await session.get(ExclusionList, result.list_id)
        entries = (await session.execute(select(ExclusionEntry.nik, ExclusionEntry.detail).order_by(ExclusionEntry.id))).all()
    assert (listing.kind, listing.source, listing.dated, listing.entry_count) == (
        "formal_education", "PDDikti", dt.date(2021, 6, 1), 2
    )
    assert entries == [(student["nik"], "Universitas Indonesia"), (outsider["nik"], "")]
    (event,) = await events(db, "exclusion.imported")
    assert event["details"]["registry_hits"] == 1


async def test_exclusion_kind_must_be_known(db, actors, tmp_path):
    path = write_csv(tmp_path / "x.csv", [], header=["nik"])
    with pytest.raises(InvalidInput) as refused:
        await participant_import.import_exclusions(db, actors.coordinator, path, "rich", "x", dt.date(2021, 1, 1))
    assert refused.value.key == "exclusion.kind"


def test_exclusion_command(db_url, tmp_path):
    path = tmp_path / "asn.csv"
    path.write_text(f"nik\n{person()['nik']}\n", encoding="utf-8")
    result = invoke("import", "exclusions", str(path), "--kind", "excluded_occupation", "--source", "BKN",
                    "--date", "2021-03-01", "--db", db_url, "--operator", "coordinator", "--lang", "en")
    assert result.returncode == 0, result.output
    assert "0 participants of the registry are on it" in result.output
    assert "1 imported, 0 rejected" in result.output


async def test_losing_postgresql_mid_import_says_what_was_committed_and_a_rerun_goes_on(backend, db, db_url, actors,
                                                                                      tmp_path):
    """The server drops the connection in the middle of the third batch: the operator is told how
    many rows (up to which line) were saved, and running the same file again imports the rest."""
    if backend == "sqlite":
        pytest.skip("an embedded SQLite file has no connection to lose; the server case is PostgreSQL")
    from sqlalchemy import text

    from store.errors import DatabaseUnavailable

    rows = [person() for _ in range(10)]
    path = write_csv(tmp_path / "big.csv", rows)
    doomed = rows[8]["nik"]  # in the third batch of four
    async with db.write_engine.begin() as connection:
        await connection.execute(text(
            "CREATE FUNCTION test_lose_connection() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.nik = '{doomed}' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;"
            " RETURN NEW; END $$"
        ))
        await connection.execute(text(
            "CREATE TRIGGER test_lose_connection BEFORE INSERT ON participant"
            " FOR EACH ROW EXECUTE FUNCTION test_lose_connection()"
        ))
    with pytest.raises(DatabaseUnavailable) as lost:
        await participant_import.import_participants(db, actors.coordinator, path, batch_rows=4)
    assert lost.value.key == "participant.import_interrupted"
    assert (lost.value.params["imported"], lost.value.params["line"]) == (8, 9)  # header + 8 rows
    from tui.i18n import describe_error

    assert "8 rows up to line 9 were imported and are saved" in describe_error(lost.value)
    assert set(await registry(db)) == {row["nik"] for row in rows[:8]}

    async with db.write_engine.begin() as connection:
        await connection.execute(text("DROP TRIGGER test_lose_connection ON participant"))
    again = await participant_import.import_participants(db, actors.coordinator, path, batch_rows=4)
    assert (again.imported, again.rejected) == (2, 8)
    assert set(await registry(db)) == {row["nik"] for row in rows}


async def test_a_nik_another_transaction_inserts_meanwhile_is_a_duplicate_not_an_error(backend, db, actors, tmp_path):
    """Two offices import overlapping files at once: the batch whose NIK the other committed
    after the lookup is written again, and that row is a duplicate like any other, never an
    "Unexpected error". (SQLite lets one writer in at a time: the case is PostgreSQL's.)"""
    if backend == "sqlite":
        pytest.skip("SQLite serialises write transactions: the lookup and the insert are one writer's")
    from sqlalchemy import text

    from store.services.registry import new_participant_row

    rows = [person() for _ in range(6)]
    path = write_csv(tmp_path / "mine.csv", rows)
    theirs = participant_import.participant_fields(rows[3])[0]
    async with db.write_engine.connect() as other:
        transaction = await other.begin()
        await other.execute(Participant.__table__.insert(), [new_participant_row(**theirs, created_at=dt.datetime.now(dt.UTC))])
        importing = asyncio.ensure_future(participant_import.import_participants(db, actors.coordinator, path))
        for _ in range(200):  # until the import's insert waits for the other transaction's NIK
            await asyncio.sleep(0.05)
            async with db.engine.connect() as probe:
                if (await probe.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                             " AND datname = current_database()"))).scalar():
                    break
        else:
            raise AssertionError("the import never waited for the other transaction")
        await transaction.commit()
    report = await importing
    assert (report.imported, report.rejected) == (5, 1)
    assert [(error.line, error.key) for error in report.errors] == [(5, "participant.duplicate_nik")]
    assert set(await registry(db)) == {row["nik"] for row in rows}
