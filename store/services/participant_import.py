"""Importing the registry and the exclusion lists from operators' CSV files.

Participants: the header `nik,full_name,birth_date,sex,phone,email,family_card`. The file is read
as a stream and validated in Python row by row; valid rows go to the database in batches of
10,000, each batch in its own unit of work with its audit event (Core executemany on SQLite, COPY
on PostgreSQL: store/bulk.py). Duplicates are found per batch with one indexed lookup of the
batch's NIKs, and within the file with a dictionary of the NIKs seen.

Committing per batch is deliberate: rows are independent, so an interrupted import keeps whole
batches only (never half a row, never half a batch) and running the same file again skips what
is already in (rejected as duplicates) and imports the rest. One transaction for a million rows
would instead hold SQLite's write lock for the whole import and lose everything on an interrupt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from store import csvio
from store.actor import Actor
from store.bulk import insert_rows
from store.engine import Database
from store.errors import InvalidInput, MitraError
from store.models import ExclusionEntry, ExclusionKind, ExclusionList, Participant, utcnow
from store.services.registry import new_participant_row
from store.uow import read_session, unit_of_work
from store.validators import email, family_card, nik, parse_nik, phone, require_text

PARTICIPANT_COLUMNS = ("nik", "full_name", "birth_date", "sex", "phone", "email", "family_card")
EXCLUSION_COLUMNS = ("nik",)
EXCLUSION_OPTIONAL = ("detail",)
BATCH_ROWS = 10_000
_YIELD_EVERY = 1_000  # rows between yields to the event loop, so the console keeps drawing

Progress = Callable[[int, int], None]  # (lines read, lines in the file)


def _no_progress(_done: int, _total: int) -> None:
    pass


def birth_date(value: str, field: str = "birth_date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("input.date", field=field, value=value) from None


def sex(value: str, field: str = "sex") -> str:
    cleaned = value.strip().upper()
    if cleaned not in ("M", "F"):
        raise InvalidInput("input.sex", field=field, value=value)
    return cleaned


def participant_fields(raw: dict[str, str]) -> tuple[dict[str, Any], list[InvalidInput]]:
    """The validated fields of one CSV row, and every field's refusal (not only the first)."""
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []

    def check(column: str, validate: Callable[[], Any]) -> None:
        try:
            values[column] = validate()
        except InvalidInput as error:
            errors.append(error)

    check("full_name", lambda: require_text(raw["full_name"], "full_name"))
    check("birth_date", lambda: birth_date(raw["birth_date"]))
    check("sex", lambda: sex(raw["sex"]))
    # The NIK must agree with the birth date and sex, when those are readable themselves.
    check("nik", lambda: nik(raw["nik"], birth_date=values.get("birth_date"), sex=values.get("sex")))
    check("phone", lambda: phone(raw["phone"]))
    check("email", lambda: email(raw["email"]))
    check("family_card", lambda: family_card(raw["family_card"], required=True))
    values["nik"] = raw["nik"].strip()
    return values, errors


class _Batches:
    """Pending valid rows of a participant import, flushed a batch at a time."""

    def __init__(self, db: Database, actor: Actor, report: csvio.ImportReport, file_name: str, dry_run: bool) -> None:
        self.db, self.actor, self.report = db, actor, report
        self.file_name, self.dry_run = file_name, dry_run
        self.pending: list[tuple[int, dict[str, Any]]] = []
        self.batch_number = 0

    async def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        self.batch_number += 1
        niks = [values["nik"] for _, values in pending]
        if self.dry_run:
            async with read_session(self.db) as session:
                known = await _known_niks(session, niks)
            self._keep_new(pending, known)
            return
        async with unit_of_work(self.db, self.actor) as uow:
            known = await _known_niks(uow.session, niks)
            fresh = self._keep_new(pending, known)
            now = utcnow()
            await insert_rows(
                uow.session, Participant.__table__,
                [new_participant_row(**values, created_at=now) for _, values in fresh],
            )
            if fresh:
                uow.audit(
                    "participant.imported", "participant", "",
                    details={"file": self.file_name, "batch": self.batch_number, "imported": len(fresh),
                             "lines": f"{fresh[0][0]}-{fresh[-1][0]}"},
                )

    def _keep_new(self, pending, known: set[str]) -> list[tuple[int, dict[str, Any]]]:
        fresh = []
        for line, values in pending:
            if values["nik"] in known:
                self.report.reject(line, InvalidInput("participant.duplicate_nik", field="nik", value=values["nik"]))
            else:
                fresh.append((line, values))
        self.report.imported += len(fresh)
        return fresh


async def _known_niks(session, niks: list[str]) -> set[str]:
    """The NIKs of `niks` already in the registry: one lookup on the unique NIK index."""
    rows = await session.execute(select(Participant.nik).where(Participant.nik.in_(niks)))
    return set(rows.scalars())


async def import_participants(
    db: Database,
    actor: Actor,
    path: str | Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> csvio.ImportReport:
    """Import the registry file at `path`; with `dry_run`, check everything and write nothing.

    Raises InvalidInput for a file that cannot be imported at all (unreadable, not UTF-8, wrong
    header); otherwise returns the report of rows read, imported (or importable) and rejected.
    """
    actor.require("participant.import")
    progress = progress or _no_progress
    report = csvio.ImportReport()
    batches = _Batches(db, actor, report, Path(path).name, dry_run)
    first_line_of: dict[int, int] = {}  # NIK (as a number, to keep a million small) -> line
    stream, total_lines = csvio.open_text(path)
    with stream:
        for line, raw in csvio.rows(stream, PARTICIPANT_COLUMNS):
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
            if len(batches.pending) >= batch_rows:
                await batches.flush()
                progress(line, total_lines)
        await batches.flush()
    progress(total_lines, total_lines)
    return report


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
    if dated > dt.date.today():
        raise InvalidInput("input.date_future", field="dated", value=dated.isoformat())
    report = csvio.ImportReport()
    entries: list[dict[str, Any]] = []
    first_line_of: dict[str, int] = {}
    stream, _lines = csvio.open_text(path)
    with stream:
        for line, raw in csvio.rows(stream, EXCLUSION_COLUMNS, EXCLUSION_OPTIONAL):
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
    async with unit_of_work(db, actor) as uow:
        listing = ExclusionList(
            kind=kind, source=source, dated=dated, entry_count=len(entries), imported_by=actor.operator_id
        )
        uow.session.add(listing)
        await uow.session.flush()
        for start in range(0, len(entries), BATCH_ROWS):
            batch = [{"list_id": listing.id, **entry} for entry in entries[start:start + BATCH_ROWS]]
            await insert_rows(uow.session, ExclusionEntry.__table__, batch)
        hits = (
            await uow.session.execute(
                select(func.count()).select_from(Participant).join(
                    ExclusionEntry, ExclusionEntry.nik == Participant.nik
                ).where(ExclusionEntry.list_id == listing.id)
            )
        ).scalar_one()
        report.imported = len(entries)
        uow.audit(
            "exclusion.imported", "exclusion_list", listing.id,
            details={"kind": kind, "source": source, "dated": dated, "entries": len(entries),
                     "rejected": report.rejected, "registry_hits": hits, "file": Path(path).name},
        )
    return ExclusionImport(report, listing.id, hits)
