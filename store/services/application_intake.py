"""Taking in platform applications: from the console's form or a CSV file (`mitra import
applications FILE`), with the same validation and the same rules.

CSV columns (header names; comma or semicolon separated; UTF-8 with or without BOM):
  required: legal_name, brand_name, legal_form, nib, npwp, portal_url, provinces
  optional: payment_integration, own_group_providers, third_party_providers, licence_ref,
            deed_ref, ownership_group, contact_name, contact_email, contact_phone, submitted_on
- legal_form: pt, other_private, bumn, bumd or government
- nib: 13 digits; npwp: 15 or 16 digits (dots and dashes allowed)
- provinces: two-digit province codes where it has users, separated by spaces or semicolons
- own_group_providers / third_party_providers: how many training providers it works with inside
  its own ownership group / outside it (whole numbers, blank = 0)
- ownership_group: the code of a known ownership group (blank: none)
- submitted_on: YYYY-MM-DD, not in the future (blank: today)

A company (by NIB) has one application under way at a time. When it applied before and was
rejected (or reclassified), the new application is linked to the previous one, whose history
stays visible; a company that is already a platform cannot apply again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import csvio, validators
from store.criteria import suggestions
from store.errors import Conflict, InvalidInput, MitraError, RuleViolation
from store.failures import explain_constraint
from store.models import (
    OPEN_STATES,
    ApplicationCriterion,
    ApplicationState,
    Criterion,
    OwnershipGroup,
    Platform,
    PlatformApplication,
    utcnow,
)
from store.text import fold
from store.operation import operation
from store.uow import UnitOfWork

explain_constraint(("ix_platform_application_open_nib", "platform_application.nib"), "application.already_open", Conflict)
explain_constraint(
    ("uq_platform_application_previous_application_id", "platform_application.previous_application_id"),
    "application.already_reapplied", Conflict,
)

REQUIRED_COLUMNS = ("legal_name", "brand_name", "legal_form", "nib", "npwp", "portal_url", "provinces")
OPTIONAL_COLUMNS = (
    "payment_integration", "own_group_providers", "third_party_providers", "licence_ref", "deed_ref",
    "ownership_group", "contact_name", "contact_email", "contact_phone", "submitted_on",
)


@dataclass(frozen=True)
class ApplicationInput:
    """An application as typed or read from a file: every field a string, not yet checked."""

    legal_name: str = ""
    brand_name: str = ""
    legal_form: str = ""
    nib: str = ""
    npwp: str = ""
    portal_url: str = ""
    provinces: str = ""
    payment_integration: str = ""
    own_group_providers: str = ""
    third_party_providers: str = ""
    licence_ref: str = ""
    deed_ref: str = ""
    ownership_group: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    submitted_on: str = ""

    @classmethod
    def from_row(cls, row: Mapping[str, str]) -> ApplicationInput:
        return cls(**{field.name: row.get(field.name, "") or "" for field in dataclasses.fields(cls)})


def _optional_text(value: str, field: str, max_length: int) -> str:
    cleaned = " ".join((value or "").split())
    if len(cleaned) > max_length:
        raise InvalidInput("input.too_long", field=field, max=max_length)
    return cleaned


def check(data: ApplicationInput, groups: Mapping[str, int], today: dt.date) -> tuple[dict[str, Any], list[InvalidInput]]:
    """The cleaned values (table columns) and every field's error, in column order."""
    clean: dict[str, Any] = {}
    errors: list[InvalidInput] = []

    def take(column: str, produce: Callable[[], Any]) -> None:
        try:
            clean[column] = produce()
        except InvalidInput as error:
            errors.append(error)

    take("legal_name", lambda: validators.require_text(data.legal_name, "legal_name"))
    take("brand_name", lambda: validators.require_text(data.brand_name, "brand_name"))
    take("legal_form", lambda: validators.legal_form(data.legal_form))
    take("nib", lambda: validators.nib(data.nib))
    take("npwp", lambda: validators.npwp(data.npwp))
    take("portal_url", lambda: validators.url(data.portal_url))
    take("province_codes", lambda: " ".join(validators.provinces(data.provinces)))
    take("payment_integration", lambda: _optional_text(data.payment_integration, "payment_integration", 2000))
    take("own_group_providers", lambda: validators.count(data.own_group_providers, "own_group_providers"))
    take("third_party_providers", lambda: validators.count(data.third_party_providers, "third_party_providers"))
    take("licence_ref", lambda: _optional_text(data.licence_ref, "licence_ref", 100))
    take("deed_ref", lambda: _optional_text(data.deed_ref, "deed_ref", 100))
    take("ownership_group_id", lambda: _group(data.ownership_group, groups))
    take("contact_name", lambda: _optional_text(data.contact_name, "contact_name", 200))
    take("contact_email", lambda: validators.email(data.contact_email, "contact_email"))
    take("contact_phone", lambda: validators.phone(data.contact_phone, "contact_phone"))
    take("submitted_on", lambda: validators.iso_date(data.submitted_on or today, "submitted_on", not_after=today))
    return clean, errors


def _group(code: str, groups: Mapping[str, int]) -> int | None:
    cleaned = (code or "").strip().lower()
    if not cleaned:
        return None
    if cleaned not in groups:
        raise InvalidInput("application.group_unknown", field="ownership_group", value=code)
    return groups[cleaned]


async def _group_ids(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(col(OwnershipGroup.code), col(OwnershipGroup.id)))
    # Ids read back are never None (the model's `int | None` is for records not yet written).
    return {code: cast(int, group_id) for code, group_id in rows}


async def _earlier_application(session: AsyncSession, nib: str) -> int | None:
    """The company's latest decided application, to link to; refuses when it has one under way
    or is already a platform."""
    latest = (
        await session.execute(
            select(col(PlatformApplication.id), col(PlatformApplication.state), col(Platform.code))
            .outerjoin(Platform, col(Platform.id) == PlatformApplication.platform_id)
            .where(col(PlatformApplication.nib) == nib)
            .order_by(col(PlatformApplication.id).desc())
            .limit(1)
        )
    ).first()
    if latest is None:
        return None
    application_id, state, platform_code = latest
    if state in OPEN_STATES:
        raise Conflict("application.already_open", field="nib", id=application_id)
    if state == ApplicationState.APPROVED:
        raise RuleViolation("application.already_platform", field="nib", code=platform_code)
    return application_id


async def _insert(uow: UnitOfWork, clean: dict[str, Any], source: str) -> int:
    session = uow.session
    previous = await _earlier_application(session, clean["nib"])
    application = PlatformApplication(
        **clean, name_key=fold(clean["brand_name"]), previous_application_id=previous, updated_at=utcnow()
    )
    session.add(application)
    await session.flush()
    assert application.id is not None  # flushed
    provinces = clean["province_codes"].split()
    suggested = suggestions(
        clean["legal_form"], len(provinces), clean["own_group_providers"], clean["third_party_providers"]
    )
    session.add_all(
        ApplicationCriterion(application_id=application.id, number=criterion.value, suggested=suggested[criterion.value])
        for criterion in Criterion
    )
    uow.audit(
        "application.submitted", "platform_application", application.id, after=clean,
        details={"source": source, "previous_application_id": previous,
                 "suggested": {str(number): verdict for number, verdict in suggested.items() if verdict}},
    )
    return application.id


@operation
async def submit_application(
    uow: UnitOfWork, data: ApplicationInput, *, source: str = "console", today: dt.date | None = None
) -> int:
    """Record a new application (state submitted) with its seven criteria; returns its id.
    Raises the first field's InvalidInput when the data is malformed."""
    uow.actor.require("application.intake")
    today = today or dt.date.today()
    clean, errors = check(data, await _group_ids(uow.session), today)
    if errors:
        raise errors[0]
    return await _insert(uow, clean, source)


@operation
async def import_applications(
    uow: UnitOfWork, text: str, *, source_name: str = "", today: dt.date | None = None
) -> csvio.ImportReport:
    """Import a CSV file's applications in one transaction (each row in a savepoint, so a row the
    database refuses is reported and the rest go in); every rejected row is reported with its
    line, column and reason. A wrong header refuses the whole file; a lost connection leaves
    nothing half-imported."""
    uow.actor.require("application.intake")
    today = today or dt.date.today()
    report = csvio.ImportReport()
    width = csvio.column_count(text)
    groups = await _group_ids(uow.session)
    source = f"import {source_name}".strip()
    for line, row in csvio.rows(text, REQUIRED_COLUMNS, OPTIONAL_COLUMNS, report=report):
        report.read += 1
        broken = csvio.malformed(row, width)
        if broken:
            report.reject(line, broken)
            continue
        clean, errors = check(ApplicationInput.from_row(row), groups, today)
        for error in errors:
            report.reject(line, error)
        if errors:
            continue
        try:
            async with uow.savepoint():
                await _insert(uow, clean, source)
        except MitraError as error:
            report.reject(line, error)
            continue
        report.imported += 1
    uow.audit(
        "application.imported", "platform_application", "",
        details={"file": source_name, "read": report.read, "imported": report.imported, "rejected": report.rejected},
    )
    return report
