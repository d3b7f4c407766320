"""The audit log: append-only on both back ends, hash-chained, tampering detected by the CLI."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import insert, select, text, update

from store import audit
from store.audit_key import load_key
from store.errors import InvalidInput, PermissionDenied, RuleViolation
from store.models import AuditEvent, AuditHead
from store.services import audit_log, operators, settings
from store.uow import unit_of_work
from tests.cli_support import mitra
from tests.tui_support import SIZE, console, login, wait_until
from tui.widgets.paged_table import PagedTable


async def test_changes_are_recorded_with_before_and_after(db, actors):
    await settings.change(db, actors.admin, "obligations.due_days", 15)
    [event] = (await audit_log.list_events(db, actors.auditor, audit_log.EventFilter(action="setting."))).rows
    assert event.operator_name == "admin" and event.entity == "setting"
    assert event.entity_id == "obligations.due_days"
    assert event.changes == {"before": {"value": 10}, "after": {"value": 15}}


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET reason = 'x'",
    "DELETE FROM audit_event",
    # The chain's recorded end only moves forward, and only by appending.
    "UPDATE audit_head SET last_id = last_id - 1",
    "DELETE FROM audit_head",
])
async def test_changing_the_log_is_refused_by_the_database(db, actors, statement):
    with pytest.raises(RuleViolation) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await uow.session.execute(text(statement))
    assert refused.value.key == "audit.append_only"
    async with db.engine.connect() as connection:
        assert (await audit.verify(connection)).intact


async def test_a_failed_unit_of_work_leaves_no_event(db, actors):
    before = await _count(db)
    with pytest.raises(ZeroDivisionError):
        async with unit_of_work(db, actors.admin) as uow:
            uow.audit("test.never", "thing", 1)
            raise ZeroDivisionError
    assert await _count(db) == before


async def _count(db) -> int:
    async with db.engine.connect() as connection:
        return await audit.count(connection)


async def _drop_triggers(db) -> None:
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            await connection.execute(text("DROP TRIGGER audit_event_no_update"))
            await connection.execute(text("DROP TRIGGER audit_event_no_delete"))
            await connection.execute(text("DROP TRIGGER audit_head_forward_only"))
        else:
            await connection.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))
            await connection.execute(text("DROP TRIGGER audit_head_forward_only ON audit_head"))


async def test_verify_counts_an_intact_chain(db, db_url):
    await operators.login(db, "auditor", "demo")
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 0, result.stderr
    # The command logs in first, so its own login event is among those it checked; the
    # verification itself is recorded after the check (who verified, what they found).
    count = await _count(db) - 1
    async with db.engine.connect() as connection:
        last_hash = (await connection.execute(text("SELECT hash FROM audit_event WHERE id = :id"), {"id": count})).scalar_one()
        recorded = (await connection.execute(text(
            "SELECT action, operator_name, changes FROM audit_event ORDER BY id DESC LIMIT 1"))).one()
    assert recorded[:2] == ("audit.verified", "auditor")
    assert json.loads(recorded[2])["details"] == {"checked": count, "intact": True, "problem": "",
                                                  "anchor": f"{count}:{last_hash}"}
    key, intact, anchor = result.stdout.splitlines()
    assert key == f"Audit key: fingerprint {load_key().fingerprint} (from $MITRA_AUDIT_KEY)."
    assert intact == f"Audit chain intact: {count} events checked."
    assert anchor.startswith(f"Anchor: {count}:{last_hash} ")


async def test_verify_names_the_first_altered_event(db, db_url):
    await _drop_triggers(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_event SET reason = 'covered up' WHERE id = 5"))
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert "event 5" in result.stderr and "altered" in result.stderr
    # The triggers dropped to do it are named too: restoring them is separate work.
    assert "The guard triggers are missing too (audit_" in result.stderr
    assert "Traceback" not in result.stderr


async def test_verify_names_a_removed_event(db, db_url):
    await _drop_triggers(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_event WHERE id = 3"))
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert "event 3 is missing" in result.stderr


async def test_verify_names_the_newest_events_when_they_are_removed(db, db_url):
    """Cutting off the end of the chain leaves a shorter chain that is intact in itself."""
    last = await _count(db)
    await _drop_triggers(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_event WHERE id >= :first"), {"first": last - 1})
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert f"event {last - 1} is missing" in result.stderr


async def test_verify_names_an_event_added_around_the_appender(db, actors):
    """A row inserted straight into the table, hashed correctly, is still not on the record."""
    table = AuditEvent.__table__
    async with db.engine.begin() as connection:
        row = (await connection.execute(select(table).order_by(table.c.id.desc()).limit(1))).mappings().one()
        forged = dict(row, id=row["id"] + 1, reason="forged", prev_hash=row["hash"])
        forged["hash"] = audit.event_hash(row["hash"], forged, load_key().secret)  # even with the key
        await connection.execute(insert(table), forged)
    async with db.engine.connect() as connection:
        result = await audit.verify(connection)
    assert (result.broken_id, result.problem) == (row["id"] + 1, "head")


async def test_verify_names_a_last_event_replaced_with_a_fresh_hash(db, actors):
    """Rewriting the newest event and its hash, without the recorded end, does not go unseen."""
    await _drop_triggers(db)
    table = AuditEvent.__table__
    async with db.engine.begin() as connection:
        row = (await connection.execute(select(table).order_by(table.c.id.desc()).limit(1))).mappings().one()
        replaced = dict(row, reason="nothing happened")
        await connection.execute(update(table).where(table.c.id == row["id"]).values(
            reason=replaced["reason"], hash=audit.event_hash(row["prev_hash"], replaced, load_key().secret)))
    async with db.engine.connect() as connection:
        result = await audit.verify(connection)
    assert (result.broken_id, result.problem) == (row["id"], "head")


async def test_an_anchor_noted_earlier_exposes_a_rewritten_chain(db, db_url):
    """Someone with the database rewrites event 4 and recomputes every hash after it, head
    included: the chain is consistent in itself, but not with the anchor an auditor kept."""
    first = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    anchor = first.stdout.splitlines()[2].split()[1]
    assert mitra("audit", "verify", "--anchor", anchor, "--db", db_url, "--operator", "auditor").returncode == 0

    await _drop_triggers(db)
    table = AuditEvent.__table__
    async with db.engine.begin() as connection:
        rows = (await connection.execute(select(table).where(table.c.id >= 4).order_by(table.c.id))).mappings().all()
        prev_hash = rows[0]["prev_hash"]
        for row in rows:
            row = dict(row, prev_hash=prev_hash, reason="rewritten" if row["id"] == 4 else row["reason"])
            prev_hash = audit.event_hash(prev_hash, row, load_key().secret)  # one who stole the key
            await connection.execute(update(table).where(table.c.id == row["id"])
                                     .values(reason=row["reason"], prev_hash=row["prev_hash"], hash=prev_hash))
        await connection.execute(update(AuditHead).values(last_hash=prev_hash))
    plain = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert plain.returncode == 1  # the rewrite is consistent in itself, but the guards are gone
    assert "GUARDS MISSING" in plain.stderr and "audit_head_forward_only" in plain.stderr
    checked = mitra("audit", "verify", "--anchor", anchor, "--db", db_url, "--operator", "auditor")
    assert checked.returncode == 1
    assert "at event 4" not in checked.stderr and f"at event {anchor.split(':')[0]}" in checked.stderr
    assert "noted for it earlier" in checked.stderr


async def test_a_malformed_anchor_is_refused_with_the_expected_form(db, db_url):
    result = mitra("audit", "verify", "--anchor", "12:abc", "--db", db_url, "--operator", "auditor")
    assert result.returncode != 0
    assert "is not an anchor: an event id, a colon and a 64-character sha256 hash" in result.stderr
    assert "Traceback" not in result.stderr


async def test_export_jsonl_holds_every_event_and_is_audited(db, db_url, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = mitra("audit", "export", "--format", "jsonl", "-o", str(out), "--db", db_url, "--operator", "auditor")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in records] == list(range(1, len(records) + 1))
    assert records[-1]["action"] == "audit.exported"
    csv_out = tmp_path / "audit.csv"
    assert mitra("audit", "export", "-o", str(csv_out), "--db", db_url, "--operator", "auditor").returncode == 0
    assert csv_out.read_text().splitlines()[0].startswith("id,at,operator_id,operator_name,action")


async def test_only_auditors_and_admins_verify(db, actors):
    with pytest.raises(PermissionDenied):
        await audit_log.verify(db, actors.finance)
    assert (await audit_log.verify(db, actors.auditor)).intact


# --- the Audit area of the console ---------------------------------------------------------------


async def test_the_audit_area_filters_events_and_verifies_the_chain(db, actors):
    await settings.change(db, actors.admin, "obligations.due_days", 15)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")
        await pilot.press("7")
        table = app.screen.query_one("#audit-events", PagedTable)
        await wait_until(pilot, lambda: table.row_count > 0)
        newest_first = [event.id for event in table.rows_by_key.values()]
        assert newest_first == sorted(newest_first, reverse=True)

        await pilot.press("slash")
        await pilot.press(*"admin", "tab", "tab", *"setting.", "enter")
        await wait_until(pilot, lambda: [e.action for e in table.rows_by_key.values()] == ["setting.changed"])
        assert "obligations.due_days" in str(app.screen.query_one("#audit-detail").render())

        await pilot.press("escape", "v")
        status = app.screen.query_one("#audit-status")
        await wait_until(pilot, lambda: "intact" in str(status.render()))
        assert "Anchor to note down outside the database: " in str(status.render())

        await _drop_triggers(db)
        async with db.engine.begin() as connection:
            await connection.execute(text("UPDATE audit_event SET reason = 'covered up' WHERE id = 2"))
        await pilot.press("v")
        await wait_until(pilot, lambda: "event 2: its content was altered" in str(status.render()))


# --- the keyed chain, stray rows and missing guards ----------------------------------------------


async def _newest(db):
    table = AuditEvent.__table__
    async with db.engine.connect() as connection:
        return (await connection.execute(select(table).order_by(table.c.id.desc()).limit(1))).mappings().one()


async def test_a_forged_event_without_the_key_is_detected_even_with_the_head_moved(db, db_url):
    """An insider appends an event with a correctly computed plain sha256 and moves the recorded
    end to it: without the audit key, the hash cannot be the chain's."""
    row = await _newest(db)
    forged = dict(row, id=row["id"] + 1, action="payment_batch.approved", reason="forged", prev_hash=row["hash"])
    forged["hash"] = audit.event_hash(row["hash"], forged, None)
    async with db.engine.begin() as connection:
        await connection.execute(insert(AuditEvent.__table__), forged)
        await connection.execute(update(AuditHead).values(last_id=forged["id"], last_hash=forged["hash"]))
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert f"at event {forged['id']}: its content was altered" in result.stderr


async def test_verify_with_another_key_says_so_and_appends_are_refused(db, db_url, actors):
    other = {"MITRA_AUDIT_KEY": "someone-elses-key-that-is-long-enough-0000"}
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor", env=other)
    assert result.returncode == 1
    # Logging in appends an event, so the other key is named before any verification starts.
    assert "is not the key this database's audit chain is kept under" in result.stderr
    assert "Traceback" not in result.stderr
    before = await _count(db)
    # A Mitra with another key writes nothing (it would fork the chain).
    result = mitra("operators", "list", "--db", db_url, "--operator", "admin", env=other)
    assert result.returncode != 0 and "is not the key this database's audit chain is kept under" in result.stderr
    assert await _count(db) == before


async def test_a_stray_row_past_the_end_blocks_nothing_and_verify_names_it(db, db_url, actors):
    row = await _newest(db)
    stray = dict(row, id=row["id"] + 1, reason="junk", prev_hash="f" * 64, hash="e" * 64)
    async with db.engine.begin() as connection:
        await connection.execute(insert(AuditEvent.__table__), stray)
    # Logging in (which writes an event) and changing data still work.
    await operators.login(db, "admin", "demo")
    await settings.change(db, actors.admin, "obligations.due_days", 12)
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert f"event {stray['id']}" in result.stderr


async def test_verify_and_the_guard_check_name_a_missing_guard(db, db_url):
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            await connection.execute(text("DROP TRIGGER payment_line_guard_update"))
        else:
            await connection.execute(text("ALTER TABLE payment_line DISABLE TRIGGER payment_line_guard"))
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert "GUARDS MISSING" in result.stderr
    assert ("payment_line_guard_update" if db.is_sqlite else "payment_line_guard") in result.stderr
    assert await audit_log.guard_check(db) != ()


async def test_the_guard_lists_match_a_migrated_database(db):
    assert await audit_log.guard_check(db) == ()


async def test_verify_in_the_store_names_the_wrong_key(db):
    from store.audit_key import AuditKey

    async with db.engine.connect() as connection:
        result = await audit.verify(connection, key=AuditKey(b"x" * 40, "test"))
    assert result.problem == "key" and not result.intact


async def test_the_console_warns_at_start_when_a_guard_is_missing(db):
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            await connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            await connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change"))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: any("GUARDS MISSING" in str(n.title) for n in app._notifications))
        [note] = [n for n in app._notifications if "GUARDS MISSING" in str(n.title)]
        assert ("audit_event_no_delete" if db.is_sqlite else "audit_event_no_change") in note.message


# --- how many events the log holds ----------------------------------------------------------------

async def test_the_log_counts_its_events_under_the_filters(db, actors):
    for days in range(3):
        await settings.change(db, actors.admin, "obligations.due_days", 10 + days)
    changed = await audit_log.count_events(db, actors.auditor, audit_log.EventFilter(action="setting."))
    everything = await audit_log.count_events(db, actors.auditor)
    assert (changed.value, changed.exact) == (3, True)
    assert everything.exact and everything.value == len((await audit_log.list_events(db, actors.auditor, limit=10_000)).rows)
    with pytest.raises(PermissionDenied):
        await audit_log.count_events(db, actors["tokopedia"])


async def test_the_audit_area_says_how_many_events_there_are_behind_the_first_page(db, actors):
    for days in range(120):
        await settings.change(db, actors.admin, "obligations.due_days", 10 + days % 20)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")  # the login itself is an event: the total is read after it
        await pilot.press("7")
        table = app.screen.query_one("#audit-events", PagedTable)
        status = app.screen.query_one("#audit-status")
        await wait_until(pilot, lambda: re.fullmatch(r"\d+ events · newest first", str(status.render())))
        total = (await audit_log.count_events(db, actors.auditor)).value
        assert str(status.render()) == f"{total} events · newest first"
        assert table.row_count < total  # one page on the screen; the count came from the store


async def test_the_log_reads_newest_or_oldest_first_page_by_page(db, actors):
    async with db.engine.connect() as connection:
        ids = list((await connection.execute(text("SELECT id FROM audit_event ORDER BY id"))).scalars())
    newest = await audit_log.list_events(db, actors.auditor, limit=3)
    after = await audit_log.list_events(db, actors.auditor, cursor=newest.next_cursor, limit=3)
    assert [event.id for event in newest.rows + after.rows] == ids[::-1][:6]
    oldest = await audit_log.list_events(db, actors.auditor, sort="oldest", limit=3)
    after = await audit_log.list_events(db, actors.auditor, sort="oldest", cursor=oldest.next_cursor, limit=3)
    assert [event.id for event in oldest.rows + after.rows] == ids[:6]
    with pytest.raises(InvalidInput):
        await audit_log.list_events(db, actors.auditor, sort="by_operator")
