"""The hash-chained audit log: appending, verifying and exporting.

Each event's hash is HMAC-sha256, under the audit key kept outside the database
(store/audit_key.py), of the previous hash + canonical JSON of the event's content; events from
before keyed chains (ids below the head's `keyed_from`) keep their plain sha256. Appends are
serialised (BEGIN IMMEDIATE on SQLite; on PostgreSQL the lock on the chain's head row), so the
chain holds with many operators writing at once; triggers in the schema reject UPDATE and DELETE.
`verify` recomputes the chain and names the first event that does not match. The chain's end is
also recorded in `audit_head`, moved forward by every append, so removing the newest events shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col

from store.audit_key import AuditKey, load_key
from store.errors import ConfigError, InvalidInput
from store.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
_ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, dates as ISO strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def _timestamp_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(prev_hash: str, event: dict[str, Any], key: bytes | None) -> str:
    content = canonical_json(
        [
            event["id"],
            _timestamp_text(event["at"]),
            event["operator_id"],
            event["operator_name"],
            event["action"],
            event["entity"],
            event["entity_id"],
            event["changes"],
            event["reason"],
        ]
    )
    message = (prev_hash + content).encode("utf-8")
    if key is None:  # events from before the chain was keyed
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass
class PendingEvent:
    """An event recorded during a unit of work, appended to the chain at commit."""

    action: str
    entity: str
    entity_id: Any
    changes: dict[str, Any]
    reason: str = ""

    def resolved_entity_id(self) -> str:
        value = self.entity_id
        if hasattr(value, "id"):  # an ORM object whose id was assigned at flush
            value = value.id
        return "" if value is None else str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Only the fields whose value changed: {"before": {...}, "after": {...}}."""
    changed = sorted(key for key in after if before.get(key) != after.get(key))
    return {
        "before": {key: before.get(key) for key in changed},
        "after": {key: after.get(key) for key in changed},
    }


async def append(
    session: AsyncSession,
    events: Iterable[PendingEvent],
    *,
    operator_id: int | None,
    operator_name: str,
    is_postgres: bool,
) -> int:
    """Append `events` to the chain inside the caller's transaction; returns how many."""
    events = list(events)
    if not events:
        return 0
    # Continue from the recorded head, not from the newest row: if the newest events were
    # removed, the next append leaves a gap that `verify` reports. Every append updates the one
    # head row, so locking it (FOR UPDATE; SQLite's BEGIN IMMEDIATE already serialises) makes
    # concurrent appenders wait for each other.
    head_query = (
        select(col(AuditHead.last_id), col(AuditHead.last_hash), col(AuditHead.key_fingerprint))
        .where(col(AuditHead.id) == 1)
    )
    if is_postgres:
        head_query = head_query.with_for_update()
    head = (await session.execute(head_query)).one()
    key = load_key()
    if head.key_fingerprint and head.key_fingerprint != key.fingerprint:
        # Appending under another key would break the chain for everyone: refuse, naming both.
        raise ConfigError("audit.wrong_key", ours=key.fingerprint, theirs=head.key_fingerprint, source=key.source)
    # The next id comes after any row already there: a stray row inserted past the recorded end
    # (outside Mitra) must not block every later write; `verify` names it.
    newest = (await session.execute(select(func.max(AuditEvent.id)))).scalar() or 0
    next_id, prev_hash = max(head.last_id, newest) + 1, head.last_hash
    at = dt.datetime.now(dt.UTC)
    rows = []
    for pending in events:
        row = {
            "id": next_id,
            "at": at,
            "operator_id": operator_id,
            "operator_name": operator_name,
            "action": pending.action,
            "entity": pending.entity,
            "entity_id": pending.resolved_entity_id(),
            "changes": canonical_json(pending.changes),
            "reason": pending.reason or "",
        }
        row["prev_hash"] = prev_hash
        row["hash"] = prev_hash = event_hash(prev_hash, row, key.secret)
        rows.append(row)
        next_id += 1
    await session.execute(insert(AuditEvent), rows)
    await session.execute(
        update(AuditHead).where(col(AuditHead.id) == 1)
        .values(last_id=next_id - 1, last_hash=prev_hash, key_fingerprint=key.fingerprint)
    )
    return len(rows)


@dataclass
class VerifyResult:
    checked: int
    broken_id: int | None = None
    problem: str = ""
    last_hash: str = GENESIS_HASH  # of the last event checked
    key_fingerprint: str = ""  # of the key the check used
    key_source: str = ""
    missing_guards: tuple[str, ...] = ()  # guard triggers absent or switched off

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    @property
    def anchor(self) -> str:
        """"ID:HASH" of the last event checked, to note down outside the database."""
        return f"{self.checked}:{self.last_hash}"


def parse_anchor(value: str) -> tuple[int, str]:
    """An anchor as `VerifyResult.anchor` writes it."""
    match = _ANCHOR.match(value.strip().lower())
    if not match:
        raise InvalidInput("input.anchor", field="anchor", value=value)
    return int(match.group(1)), match.group(2)


async def _stream_events(connection: AsyncConnection, batch: int = 5000) -> AsyncIterator[dict[str, Any]]:
    events = AuditEvent.__table__
    last_id = 0
    while True:
        rows = (
            await connection.execute(
                select(events).where(events.c.id > last_id).order_by(events.c.id).limit(batch)
            )
        ).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last_id = rows[-1]["id"]


async def _head(connection: AsyncConnection) -> Row[int, str, str, int]:
    return (
        await connection.execute(
            select(
                col(AuditHead.last_id), col(AuditHead.last_hash), col(AuditHead.key_fingerprint),
                col(AuditHead.keyed_from),
            )
        )
    ).one()


async def verify(
    connection: AsyncConnection, anchors: dict[int, str] | None = None, key: AuditKey | None = None
) -> VerifyResult:
    """Recompute the chain from the first event; stop at the first that does not match.

    The recorded head is read before and after the walk: every event up to the first reading was
    committed before the check began and must be there with the recorded hash; events appended
    while the check runs move the head on and are no false alarm, but an event beyond the final
    reading was added around the appender.

    `anchors` are (event id, hash) pairs an auditor noted down outside the database from an
    earlier verification: a chain rewritten from some event on, hashes recomputed and head moved,
    is consistent in itself but no longer holds the hash noted for that event."""
    anchors = anchors or {}
    key = key or load_key()
    start = await _head(connection)
    result = functools.partial(VerifyResult, key_fingerprint=key.fingerprint, key_source=key.source)
    if start.key_fingerprint and start.key_fingerprint != key.fingerprint:
        return result(0, 0, "key")
    hash_at_start = GENESIS_HASH
    expected_id, prev_hash, checked = 1, GENESIS_HASH, 0
    async for row in _stream_events(connection):
        if row["id"] != expected_id:
            return result(checked, expected_id, "missing")
        if row["prev_hash"] != prev_hash:
            return result(checked, row["id"], "chain")
        if event_hash(prev_hash, row, key.secret if row["id"] >= start.keyed_from else None) != row["hash"]:
            return result(checked, row["id"], "content")
        if anchors.get(row["id"], row["hash"]) != row["hash"]:
            return result(checked, row["id"], "anchor")
        if row["id"] == start.last_id:
            hash_at_start = row["hash"]
        prev_hash = row["hash"]
        expected_id += 1
        checked += 1
    last_id = expected_id - 1
    if max([start.last_id, *anchors]) > last_id:
        return result(checked, expected_id, "missing")
    if hash_at_start != start.last_hash:  # the recorded end was replaced, hashes recomputed
        return result(checked, start.last_id, "head")
    end = await _head(connection)
    if last_id > end.last_id:  # events past the recorded end: added around the appender
        return result(checked, end.last_id + 1, "head")
    if end.last_id == last_id and end.last_hash != prev_hash:
        return result(checked, last_id, "head")
    return result(checked, last_hash=prev_hash)


async def count(connection: AsyncConnection) -> int:
    return (await connection.execute(select(func.count()).select_from(AuditEvent))).scalar_one()


EXPORT_COLUMNS = (
    "id", "at", "operator_id", "operator_name", "action", "entity", "entity_id",
    "changes", "reason", "prev_hash", "hash",
)


def _export_value(row: dict[str, Any], column: str) -> Any:
    value = row[column]
    if column == "at":
        return _timestamp_text(value)
    return value


async def export(connection: AsyncConnection, fmt: str) -> AsyncIterator[str]:
    """The whole log, oldest first, as CSV or JSON lines (yielded in chunks)."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        async for row in _stream_events(connection):
            writer.writerow([_export_value(row, column) for column in EXPORT_COLUMNS])
            if buffer.tell() > 1 << 16:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "jsonl":
        async for row in _stream_events(connection):
            record = {column: _export_value(row, column) for column in EXPORT_COLUMNS}
            record["changes"] = json.loads(record["changes"])
            yield canonical_json(record) + "\n"
    else:
        raise ValueError(f"unknown export format {fmt!r}")
