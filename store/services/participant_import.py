"""Importing the registry and the exclusion lists from operators' CSV files.

Participants: the header `nik,full_name,birth_date,sex,phone,email,family_card`. The file is read
as a stream and validated in Python row by row; valid rows go to the database in batches of
10,000, each batch in its own unit of work with its audit event (Core executemany on SQLite, COPY
on PostgreSQL: store/bulk.py). Duplicates are found per batch with one indexed lookup of the
batch's NIKs, and within the file with a dictionary of the NIKs seen.

The next batch is read and checked while one is written (one batch in flight, never two, so
each batch's duplicate lookup sees the batches before it committed). On PostgreSQL the server's
work on a batch (COPY into an indexed table, the commit) was time the import only waited through:
200,000 rows took 11.7-14.2 s against raw COPY's 5.1-6.1 s (0.36-0.51 of it), and take 7.8-8.8 s
overlapped (0.64-0.69). The reading yields to the event loop every few rows, or the COPY and each
round trip of the batch in flight would wait for it. On SQLite it is no faster nor slower (its
driver needs the interpreter for every row). Progress is reported as batches commit.

Measured and not kept: finding the registry's duplicates by the insert itself (COPY into a
temporary table, then INSERT .. ON CONFLICT DO NOTHING) wrote a batch in 413 ms against 392 with
the lookup, and overlapped less; checking rows in a second process reached 0.29 of the
raw-insert baseline against 0.40 in one process, as shipping the rows between processes costs
more than checking them, and a spawned process re-imports the caller's main module.

Committing per batch is deliberate: rows are independent, so an interrupted import keeps whole
batches only (never half a row, never half a batch) and running the same file again skips what
is already in (rejected as duplicates) and imports the rest. One transaction for a million rows
would instead hold SQLite's write lock for the whole import and lose everything on an interrupt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import String, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import csvio, validators
from store.actor import Actor
from store.bulk import insert_rows
from store.column_guard import check_row
from store.engine import Database
from store.errors import Conflict, DatabaseUnavailable, InvalidInput, MitraError
from store.models import ExclusionEntry, ExclusionKind, ExclusionList, Participant, utcnow
from store.services.registry import new_participant_row
from store.services.waves import hold_lists
from store.operation import operation
from store.uow import UnitOfWork, read_session
from store.validators import email, family_card, nik, parse_nik, phone, require_text

PARTICIPANT_COLUMNS = ("nik", "full_name", "birth_date", "sex", "phone", "email", "family_card")
EXCLUSION_COLUMNS = ("nik",)
EXCLUSION_OPTIONAL = ("detail",)
BATCH_ROWS = 10_000
_YIELD_EVERY = 25  # rows between yields to the event loop: the console keeps drawing, the batch in flight moves

Progress = Callable[[int, int], None]  # (lines read, lines in the file)


def _no_progress(_done: int, _total: int) -> None:
    pass


def birth_date(value: str, field: str = "birth_date") -> dt.date:
    """A real birth date: not in the future, not before 1900."""
    day = validators.iso_date(value, field, not_after=dt.date.today())
    if day.year < 1900:
        raise InvalidInput("input.date", field=field, value=value)
    return day


def sex(value: str, field: str = "sex") -> str:
    cleaned = value.strip().upper()
    if cleaned not in ("M", "F"):
        raise InvalidInput("input.sex", field=field, value=value)
    return cleaned


def required_family_card(value: str, field: str = "family_card") -> str:
    return family_card(value, field, required=True)


PARTICIPANT = Participant.__table__
# Column -> validator(value, field); the NIK comes last, checked against birth date and sex.
_FIELD_CHECKS = (
    ("full_name", require_text), ("birth_date", birth_date), ("sex", sex), ("phone", phone), ("email", email),
    ("family_card", required_family_card),
)


def participant_fields(raw: dict[str, str]) -> tuple[dict[str, Any], list[InvalidInput]]:
    """The validated fields of one CSV row, and every field's refusal (not only the first)."""
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for column, validate in _FIELD_CHECKS:
        try:
            values[column] = validate(raw[column], column)
        except InvalidInput as error:
            errors.append(error)
    try:
        # The NIK must agree with the birth date and sex, when those are readable themselves.
        nik(raw["nik"], birth_date=values.get("birth_date"), sex=values.get("sex"))
    except InvalidInput as error:
        errors.append(error)
    values["nik"] = raw["nik"].strip()
    try:  # what the columns can hold (store/column_guard.py): the whole row at once, ...
        check_row(PARTICIPANT, values)
    except InvalidInput:
        for column, value in values.items():  # ... and column by column only to name every refusal
            try:
                check_row(PARTICIPANT, {column: value})
            except InvalidInput as error:
                errors.append(error)
    return values, errors


class _Batches:
    """Valid rows of a participant import, written a batch at a time."""

    def __init__(self, db: Database, actor: Actor, report: csvio.ImportReport, file_name: str, dry_run: bool,
                 progress: Progress, total_lines: int) -> None:
        self.db, self.actor, self.report = db, actor, report
        self.file_name, self.dry_run = file_name, dry_run
        self.progress, self.total_lines = progress, total_lines
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.as_read: dict[int, dict[str, str]] = {}  # the pending rows as in the file (for the errors file)
        self.batch_number = 0
        self.committed_line = 0  # the file's last line in a committed batch
        self.in_flight: asyncio.Future[int] | None = None  # the batch being written

    async def flush(self) -> None:
        """Send the pending rows to be written once the batch before them has committed, and
        return: the next rows are read and checked while these are written. PostgreSQL's work on
        a batch (its indexes, its commit) used to be time the import only waited through. The
        table rows are made before waiting for that batch, for the same reason."""
        now = utcnow()
        rows = {} if self.dry_run else {line: new_participant_row(**values, created_at=now) for line, values in self.pending}
        await self.settle()
        if self.pending:
            pending, self.pending = self.pending, []
            as_read, self.as_read = self.as_read, {}
            self.batch_number += 1
            self.in_flight = asyncio.ensure_future(self._write(pending, rows, self.batch_number, as_read))

    async def settle(self) -> None:
        """Wait until the batch being written, if any, has committed, and report progress (as
        lines committed); its failure is raised here. Progress is reported here, by the caller,
        not by the write: whatever the callback raises (an operator's interrupt) reaches the
        import, not the event loop."""
        if self.in_flight is not None:
            writing, self.in_flight = self.in_flight, None
            self.progress(await writing, self.total_lines)

    async def _write(self, pending: list[tuple[int, dict[str, Any]]], rows: dict[int, dict[str, Any]],
                     batch_number: int, as_read: dict[int, dict[str, str]]) -> int:
        """Insert the rows not yet in the registry, in one unit of work; returns the last line."""
        if self.dry_run:
            niks = [values["nik"] for _, values in pending]
            async with read_session(self.db) as session:
                self.report.imported += len(self.keep_new(pending, await _known_niks(session, niks), as_read))
            return pending[-1][0]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                known = await _insert_batch(self.db, self.actor, self.file_name, rows, batch_number)
                break
            except Conflict as raced:
                # Another import (or a registration) committed one of these NIKs after this batch
                # looked them up: looked up again, it is a duplicate like any other.
                if raced.params.get("constraint") not in _NIK_UNIQUE or attempt == _ATTEMPTS:
                    raise
        # Counted once committed: a batch lost with the connection was not imported.
        fresh = self.keep_new(pending, known, as_read)
        self.report.imported += len(fresh)
        self.committed_line = pending[-1][0]
        return pending[-1][0]

    def keep_new(self, pending: list[tuple[int, dict[str, Any]]], known: set[str],
                 as_read: dict[int, dict[str, str]]) -> list[tuple[int, dict[str, Any]]]:
        fresh = []
        for line, values in pending:
            if values["nik"] in known:
                self.report.reject(line, InvalidInput("participant.duplicate_nik", field="nik", value=values["nik"]),
                                   row=as_read.get(line))
            else:
                fresh.append((line, values))
        return fresh


_ATTEMPTS = 3  # a batch whose NIKs another transaction inserted meanwhile is written again
_NIK_UNIQUE = ("uq_participant_nik", "participant.nik")  # PostgreSQL's name; SQLite's words


@operation
async def _insert_batch(uow: UnitOfWork, file_name: str, rows: dict[int, dict[str, Any]], batch_number: int) -> set[str]:
    """One batch of an import (`rows`: its table rows by line, in the file's order): the rows not
    yet in the registry, with its audit event. Returns the NIKs it found already there (reported
    once committed)."""
    known = await _known_niks(uow.session, [row["nik"] for row in rows.values()])
    fresh = [line for line, row in rows.items() if row["nik"] not in known]
    await insert_rows(uow.session, Participant.__table__, [rows[line] for line in fresh])
    if fresh:
        uow.audit(
            "participant.imported", "participant", "",
            details={"file": file_name, "batch": batch_number, "imported": len(fresh),
                     "lines": f"{fresh[0]}-{fresh[-1]}"},
        )
    return known


# The NIKs of a batch already in the registry, in one statement with one parameter: SQLAlchemy's
# expanding IN with 10,000 bound values cost 130 ms a batch to build, more than the lookup.
# On PostgreSQL each NIK probes the unique index by itself (LATERAL .. LIMIT 1 keeps the planner
# from turning the probes into a join). `nik = ANY(:niks)` was planned from the table's statistics,
# which lag a registry growing under an import: at 1,000,000 participants it scanned the whole
# table, 130-150 ms a batch (a third of the import's time in the server), where the probes take
# 26-42 ms; and with scans ruled out it chose the NIK trigram index, 160 s a batch.
_KNOWN_NIKS = {
    "sqlite": text("SELECT nik FROM participant WHERE nik IN (SELECT value FROM json_each(:niks))"),
    "postgresql": text(
        "SELECT known.nik FROM unnest(:niks) AS batch(nik)"
        " CROSS JOIN LATERAL (SELECT nik FROM participant WHERE participant.nik = batch.nik LIMIT 1) AS known"
    ).bindparams(bindparam("niks", type_=ARRAY(String))),
}


async def _known_niks(session: AsyncSession, niks: list[str]) -> set[str]:
    """The NIKs of `niks` already in the registry: probes of the unique NIK index."""
    dialect = (await session.connection()).dialect.name
    value = json.dumps(niks) if dialect == "sqlite" else niks
    if dialect == "postgresql":
        # asyncpg keeps the lookup prepared, and after five runs PostgreSQL may plan it once for
        # all batches, from the registry's size then: a first import checked first (its dry run
        # looks up every batch in an empty table) kept the empty table's plan, a scan, and took
        # 265 s for 200,000 rows, not 11 (tests/test_pg_plans.py). Each batch is planned for itself.
        await session.execute(_PLAN_EACH_RUN)
    return set((await session.execute(_KNOWN_NIKS[dialect], {"niks": value})).scalars())


_PLAN_EACH_RUN = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def import_participants(
    db: Database,
    actor: Actor,
    path: str | Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> csvio.ImportReport:
    """Import the registry file at `path`; with `dry_run`, check everything and write nothing.
    `should_stop` is asked between batches: the import then ends there (run the file again to
    import the rest).

    Raises InvalidInput for a file that cannot be imported at all (unreadable, not UTF-8, wrong
    header); otherwise returns the report of rows read, imported (or importable) and rejected.
    """
    actor.require("participant.import")
    progress = progress or _no_progress
    report = csvio.ImportReport()
    stream, total_lines = csvio.open_text(path)
    batches = _Batches(db, actor, report, Path(path).name, dry_run, progress, total_lines)
    try:
        await _read_and_write(stream, batches, report, batch_rows, should_stop)
    except DatabaseUnavailable as lost:
        if not report.imported:
            raise
        # Batches before the loss are committed: say how far the file got, and that a rerun goes on.
        raise DatabaseUnavailable(
            "participant.import_interrupted", imported=report.imported, line=batches.committed_line,
            cause=lost.key, target=lost.params.get("target", ""),
        ) from lost
    progress(total_lines, total_lines)
    report.errors.sort(key=lambda error: error.line)  # registry duplicates are found per batch
    return report


async def _read_and_write(stream: TextIO, batches: _Batches, report: csvio.ImportReport, batch_rows: int,
                          should_stop: Callable[[], bool] | None) -> None:
    first_line_of: dict[int, int] = {}  # NIK (as a number, to keep a million small) -> line
    with stream:
        try:
            await _read_rows(stream, batches, report, batch_rows, should_stop, first_line_of)
        finally:
            # Whatever ended the reading (the end of the file, a stop, an error, a cancel), the
            # batch in flight commits whole or not at all, and is counted only once committed.
            await batches.settle()


async def _read_rows(stream: TextIO, batches: _Batches, report: csvio.ImportReport, batch_rows: int,
                     should_stop: Callable[[], bool] | None, first_line_of: dict[int, int]) -> None:
    for line, raw in csvio.rows(stream, PARTICIPANT_COLUMNS, report=report):
        report.read += 1
        if report.read % _YIELD_EVERY == 0:
            await asyncio.sleep(0)
        problem = csvio.malformed(raw, len(PARTICIPANT_COLUMNS))
        if problem:
            report.reject(line, problem)
            continue
        values, errors = participant_fields(raw)
        if errors:
            for error in errors:
                report.reject(line, error)
            continue
        key = int(values["nik"])
        if key in first_line_of:
            report.reject(line, InvalidInput(
                "participant.duplicate_in_file", field="nik", value=values["nik"], first_line=first_line_of[key],
            ))
            continue
        first_line_of[key] = line
        batches.pending.append((line, values))
        batches.as_read[line] = raw
        if len(batches.pending) >= batch_rows:
            await batches.flush()
            if should_stop and should_stop():
                break
    await batches.flush()


# --- exclusion lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExclusionImport:
    report: csvio.ImportReport
    list_id: int | None  # None when no row was valid (no list is created)
    registry_hits: int  # participants of the registry whose NIK is on the list


def exclusion_kind(value: str) -> str:
    try:
        return ExclusionKind(value.strip().lower()).value
    except ValueError:
        raise InvalidInput("exclusion.kind", field="kind", value=value) from None


async def import_exclusions(
    db: Database, actor: Actor, path: str | Path, kind: str, source: str, dated: dt.date
) -> ExclusionImport:
    """Import one exclusion file (`nik[,detail]`) as a list of `kind` from `source` as of `dated`.

    Exclusion lists are far smaller than the registry (tens of thousands of NIKs): the whole list
    is one unit of work, so it is there entirely or not at all.
    """
    actor.require("exclusion.import")
    kind = exclusion_kind(kind)
    source = require_text(source, "source")
    validators.iso_date(dated, "dated", not_after=dt.date.today())
    report = csvio.ImportReport()
    entries: list[dict[str, Any]] = []
    first_line_of: dict[str, int] = {}
    stream, _lines = csvio.open_text(path)
    with stream:
        for line, raw in csvio.rows(stream, EXCLUSION_COLUMNS, EXCLUSION_OPTIONAL, report=report):
            report.read += 1
            problem = csvio.malformed(raw, len(EXCLUSION_COLUMNS))
            try:
                if problem:
                    raise problem
                parse_nik(raw["nik"])
            except MitraError as error:
                report.reject(line, error)
                continue
            value = raw["nik"].strip()
            if value in first_line_of:
                report.reject(line, InvalidInput(
                    "participant.duplicate_in_file", field="nik", value=value, first_line=first_line_of[value],
                ))
                continue
            first_line_of[value] = line
            entries.append({"nik": value, "detail": raw.get("detail", "")[:200]})
    if not entries:
        return ExclusionImport(report, None, 0)
    # The file is read before the transaction: the write lock is held for the insert only.
    list_id, hits = await _write_exclusions(db, actor, entries, kind, source, dated, report, Path(path).name)
    return ExclusionImport(report, list_id, hits)


@operation
async def _write_exclusions(
    uow: UnitOfWork, entries: list[dict[str, Any]], kind: str, source: str, dated: dt.date,
    report: csvio.ImportReport, file_name: str,
) -> tuple[int, int]:
    """The list and its entries; returns the list's id and how many participants it hits."""
    await hold_lists(uow.session)
    listing = ExclusionList(
        kind=kind, source=source, dated=dated, entry_count=len(entries), imported_by=uow.actor.operator_id
    )
    uow.session.add(listing)
    await uow.session.flush()
    assert listing.id is not None  # flushed
    for start in range(0, len(entries), BATCH_ROWS):
        batch = [{"list_id": listing.id, **entry} for entry in entries[start:start + BATCH_ROWS]]
        await insert_rows(uow.session, ExclusionEntry.__table__, batch)
    hits = (
        await uow.session.execute(
            select(func.count()).select_from(Participant).join(
                ExclusionEntry, col(ExclusionEntry.nik) == col(Participant.nik)
            ).where(col(ExclusionEntry.list_id) == listing.id)
        )
    ).scalar_one()
    report.imported = len(entries)
    uow.audit(
        "exclusion.imported", "exclusion_list", listing.id,
        details={"kind": kind, "source": source, "dated": dated, "entries": len(entries),
                 "rejected": report.rejected, "registry_hits": hits, "file": file_name},
    )
    return listing.id, hits
