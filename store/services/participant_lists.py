"""Participant lists per platform or per provider (the platforms' duty to deliver them), as CSV.

NIKs are written in full only for roles allowed to see them (`participant.reveal_nik`), phones and
e-mails only for office roles that may reveal them; masked for everyone else; every export is audited, saying which it was. Platform staff export only
their own platform's list. Rows stream in keyset batches: a list of 800,000 is never in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import label, select
from sqlmodel import col

from store.actor import Actor
from store.engine import Database
from store.errors import InvalidInput, NotFound
from store.models import Course, Enrollment, EnrollmentStatus, Participant, Platform, Provider
from store.personal_data import masked
from store.services.registry import mask_nik
from store.operation import operation
from store.uow import UnitOfWork, read_session

EXPORT_COLUMNS = (
    "nik", "full_name", "phone", "email", "province", "card_number", "course", "provider", "platform", "status",
    "progress_pct", "assigned_on", "completed_on", "certificate_number",
)
BATCH = 5_000


async def _platform_id(db: Database, code: str) -> int:
    async with read_session(db) as session:
        found = (
            await session.execute(select(col(Platform.id)).where(col(Platform.code) == code.strip().lower()))
        ).scalar_one_or_none()
    if found is None:
        raise NotFound("platform.not_found", code=code)
    return found


async def export_participant_list(
    db: Database, actor: Actor, *, platform_code: str | None = None, provider_id: int | None = None
) -> AsyncIterator[str]:
    """CSV chunks of the enrollments (not cancelled) on a platform and/or of a provider."""
    actor.require("participant.export")
    platform_id = await _platform_id(db, platform_code) if platform_code else None
    if actor.is_platform_staff:
        platform_id = platform_id or actor.platform_id
        actor.require_platform(platform_id)
    if platform_id is None and provider_id is None:
        raise InvalidInput("participant.export_scope", field="platform")
    full_niks = actor.can("participant.reveal_nik")
    # Contact details in full only for office roles that may reveal them; platform staff export masked.
    full_contacts = actor.can("participant.reveal_contact") and not actor.is_platform_staff
    # The export is audited before its first row leaves the store, in a transaction of its own.
    await _record_export(db, actor, platform_id, provider_id, full_niks=full_niks, full_contacts=full_contacts)
    query = (
        select(
            col(Enrollment.id), col(Participant.nik), col(Participant.full_name), col(Participant.phone),
            col(Participant.email), col(Participant.province_code), col(Participant.card_number), col(Course.title),
            label("provider", col(Provider.name)), label("platform", col(Platform.name)), col(Enrollment.status),
            col(Enrollment.progress_pct), col(Enrollment.assigned_at), col(Enrollment.completed_on),
            col(Enrollment.certificate_number),
        )
        .join(Participant, col(Participant.id) == col(Enrollment.participant_id))
        .join(Course, col(Course.id) == col(Enrollment.course_id))
        .join(Provider, col(Provider.id) == col(Course.provider_id))
        .join(Platform, col(Platform.id) == col(Enrollment.platform_id))
        .where(col(Enrollment.status) != EnrollmentStatus.CANCELLED)
        .order_by(col(Enrollment.id))
        .limit(BATCH)
    )
    if platform_id is not None:
        query = query.where(col(Enrollment.platform_id) == platform_id)
    if provider_id is not None:
        query = query.where(col(Course.provider_id) == provider_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    last_id = 0
    while True:
        async with read_session(db) as session:
            rows = (await session.execute(query.where(col(Enrollment.id) > last_id))).all()
        for row in rows:
            writer.writerow([
                row.nik if full_niks else mask_nik(row.nik), row.full_name,
                row.phone if full_contacts else masked("phone", row.phone),
                row.email if full_contacts else masked("email", row.email), row.province_code,
                row.card_number, row.title, row.provider, row.platform, row.status, row.progress_pct,
                row.assigned_at.date().isoformat(), row.completed_on.isoformat() if row.completed_on else "",
                row.certificate_number,
            ])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < BATCH:
            return
        last_id = rows[-1].id


@operation
async def _record_export(
    uow: UnitOfWork, platform_id: int | None, provider_id: int | None, *, full_niks: bool, full_contacts: bool
) -> None:
    uow.audit(
        "participant.list_exported", "participant", "",
        details={"platform_id": platform_id, "provider_id": provider_id, "nik": "full" if full_niks else "masked",
                 "contacts": "full" if full_contacts else "masked"},
    )


async def write_participant_list(
    db: Database, actor: Actor, path: str | Path, *, platform_code: str | None = None, provider_id: int | None = None
) -> int:
    """Write the list to a file; returns how many participants it holds."""
    lines = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        async for chunk in export_participant_list(db, actor, platform_code=platform_code, provider_id=provider_id):
            handle.write(chunk)
            lines += chunk.count("\n")
    return max(lines - 1, 0)  # less the header
