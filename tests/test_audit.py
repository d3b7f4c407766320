"""The audit log: append-only on both back ends, hash-chained, tampering detected by the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select, text

from store import audit
from store.errors import PermissionDenied, RuleViolation
from store.models import AuditEvent
from store.services import audit_log, operators, settings
from store.uow import unit_of_work
from tests.cli_support import mitra


async def test_changes_are_recorded_with_before_and_after(db, actors):
    await settings.change(db, actors.admin, "obligations.due_days", 15)
    [event] = await audit_log.list_events(db, actors.auditor, audit_log.EventFilter(action="setting."))
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
            1 / 0
    assert await _count(db) == before


async def _count(db) -> int:
    async with db.engine.connect() as connection:
        return await audit.count(connection)


async def _drop_triggers(db) -> None:
    async with db.engine.begin() as connection:
        if db.is_sqlite:
            await connection.execute(text("DROP TRIGGER audit_event_no_update"))
            await connection.execute(text("DROP TRIGGER audit_event_no_delete"))
        else:
            await connection.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))


async def test_verify_counts_an_intact_chain(db, db_url):
    await operators.login(db, "auditor", "demo")
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 0, result.stderr
    # The command logs in first, so its own login event is among those it checked.
    assert result.stdout.strip() == f"Audit chain intact: {await _count(db)} events checked."


async def test_verify_names_the_first_altered_event(db, db_url):
    await _drop_triggers(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("UPDATE audit_event SET reason = 'covered up' WHERE id = 5"))
    result = mitra("audit", "verify", "--db", db_url, "--operator", "auditor")
    assert result.returncode == 1
    assert "event 5" in result.stderr and "altered" in result.stderr
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
        forged["hash"] = audit.event_hash(row["hash"], forged)
        await connection.execute(insert(table), forged)
    async with db.engine.connect() as connection:
        result = await audit.verify(connection)
    assert (result.broken_id, result.problem) == (row["id"] + 1, "head")


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
