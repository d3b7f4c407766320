"""Inventory: recording a provider with its documents checklist, the checklist's edits, submission and suspension."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.models import (
    DocumentKind,
    DocumentStatus,
    OwnershipGroup,
    Platform,
    Provider,
    ProviderDocument,
    ProviderPlatform,
    ProviderState,
)
from store.operation import hold, operation
from store.services.providers.fields import ProviderFields, document_kinds
from store.services.providers.scope import move, provider_for_change
from store.services.providers.states import DOCUMENT_ORDER, MIN_AGE_DAYS, OFFICE_EDITABLE, PLATFORM_EDITABLE
from store.services.providers.views import DocumentView, ProviderRow, document_view
from store.text import fold
from store.uow import UnitOfWork


async def _platforms_for(uow: UnitOfWork, codes: Iterable[str]) -> list[Platform]:
    actor = uow.actor
    wanted = {code.strip().lower() for code in codes if code.strip()}
    if actor.is_platform_staff:
        # Platform staff propose for their own platform only.
        if actor.platform_code is None or wanted - {actor.platform_code}:
            raise PermissionDenied("permission.other_platform", operator=actor.username)
        wanted = {actor.platform_code}
    if not wanted:
        raise InvalidInput("input.required", field="platforms")
    platforms = list((await uow.session.execute(select(Platform).where(col(Platform.code).in_(wanted)))).scalars())
    unknown = wanted - {platform.code for platform in platforms}
    if unknown:
        raise NotFound("platform.not_found", code=", ".join(sorted(unknown)))
    return sorted(platforms, key=lambda platform: platform.code)


async def _group_id(session: AsyncSession, code: str | None) -> int | None:
    if not code or not code.strip():
        return None
    group_id = (
        await session.execute(select(col(OwnershipGroup.id)).where(col(OwnershipGroup.code) == code.strip().lower()))
    ).scalar_one_or_none()
    if group_id is None:
        raise NotFound("ownership_group.not_found", code=code)
    return group_id


@operation
async def inventory_provider(
    uow: UnitOfWork,
    fields: ProviderFields,
    *,
    platform_codes: Iterable[str] = (),
    ownership_group: str | None = None,
    documents_present: Iterable[str] = (),
    source: str = "",
) -> ProviderRow:
    """Record a provider proposed by platform(s), with its documents checklist (all missing
    unless listed in `documents_present`)."""
    uow.actor.require("provider.inventory")
    session = uow.session
    platforms = await _platforms_for(uow, platform_codes)
    group_id = await _group_id(session, ownership_group)
    present = document_kinds(documents_present)
    taken = (
        await session.execute(select(col(Provider.name)).where(col(Provider.nib) == fields.nib))
    ).scalar_one_or_none()
    if taken is not None:
        raise Conflict("provider.nib_exists", nib=fields.nib, name=taken)
    provider = Provider(
        **{name: getattr(fields, name) for name in ProviderFields.__dataclass_fields__},
        name_key=fold(fields.name), ownership_group_id=group_id, state=ProviderState.INVENTORIED,
        created_by=uow.actor.operator_id,
    )
    session.add(provider)
    await session.flush()
    assert provider.id is not None  # flushed
    hold(session, provider, provider.id)
    for platform in platforms:
        assert platform.id is not None  # read
        session.add(ProviderPlatform(provider_id=provider.id, platform_id=platform.id))
    await session.execute(
        insert(ProviderDocument),
        [
            {
                "version": 1, "provider_id": provider.id, "kind": kind.value, "reference": "", "note": "",
                "status": DocumentStatus.PRESENT.value if kind in present else DocumentStatus.MISSING.value,
            }
            for kind in DocumentKind
        ],
    )
    await session.flush()  # units of work run without autoflush: later steps read these rows
    after = {
        name: value.isoformat() if isinstance(value, dt.date) else value
        for name, value in vars(fields).items()
    }
    after |= {
        "state": ProviderState.INVENTORIED.value, "platforms": [p.code for p in platforms],
        "ownership_group": ownership_group or None, "documents_present": sorted(present),
    }
    uow.audit("provider.inventoried", "provider", provider.id, after=after, details={"source": source} if source else None)
    return ProviderRow(
        provider.id, provider.name, provider.nib, provider.state, provider.province_code,
        provider.offers_offline, ", ".join(p.code for p in platforms),
    )


@operation
async def set_document(
    uow: UnitOfWork,
    provider_id: int,
    kind: str,
    status: str,
    *,
    reference: str = "",
    note: str = "",
    expected_version: int | None = None,
) -> DocumentView:
    """Mark one document of the checklist present, missing or invalid (invalid needs a note)."""
    uow.actor.require("provider.inventory")
    if kind not in set(DocumentKind):
        raise InvalidInput("input.document_kind", field="kind", value=kind)
    if status not in set(DocumentStatus):
        raise InvalidInput("input.document_status", field="status", value=status)
    note = " ".join((note or "").split())
    reference = " ".join((reference or "").split())[:200]
    if status == DocumentStatus.INVALID and not note:
        raise InvalidInput("provider.invalid_needs_note", field="note")
    provider = await provider_for_change(uow, provider_id)
    editable = PLATFORM_EDITABLE if uow.actor.is_platform_staff else OFFICE_EDITABLE
    if provider.state not in editable:
        raise RuleViolation("provider.documents_locked", state=provider.state)
    document = (
        await uow.session.execute(
            select(ProviderDocument)
            .where(col(ProviderDocument.provider_id) == provider_id, col(ProviderDocument.kind) == kind)
        )
    ).scalar_one()
    if expected_version is not None and document.version != expected_version:
        raise Conflict("record.changed")
    before = {"status": document.status, "reference": document.reference, "note": document.note}
    document.status, document.reference, document.note = status, reference, note
    uow.audit(
        "provider.document_set", "provider", provider_id, before=before,
        after={"status": status, "reference": reference, "note": note}, details={"kind": kind},
    )
    await uow.session.flush()
    return document_view(document)


def _founding_problem(founded_on: dt.date | None, today: dt.date) -> RuleViolation | None:
    if founded_on is None:
        return RuleViolation("provider.founding_unknown")
    if (today - founded_on).days < MIN_AGE_DAYS:
        return RuleViolation("provider.too_young", founded_on=founded_on.isoformat())
    return None


async def missing_documents(session: AsyncSession, provider_id: int) -> list[str]:
    rows = await session.execute(
        select(col(ProviderDocument.kind)).where(
            col(ProviderDocument.provider_id) == provider_id, col(ProviderDocument.status) != DocumentStatus.PRESENT
        )
    )
    return sorted(rows.scalars(), key=DOCUMENT_ORDER.index)


async def documents_refusal(session: AsyncSession, provider: Provider, today: dt.date | None = None) -> RuleViolation | None:
    """Why the provider's file is not complete: a document not present, or a company deed less
    than a year old; None when all six documents are present and the deed is old enough."""
    assert provider.id is not None  # read
    missing = await missing_documents(session, provider.id)
    if missing:
        return RuleViolation("provider.documents_incomplete", missing=", ".join(missing))
    return _founding_problem(provider.founded_on, today or dt.date.today())


async def require_documents(session: AsyncSession, provider: Provider, today: dt.date | None = None) -> None:
    problem = await documents_refusal(session, provider, today)
    if problem:
        raise problem


@operation
async def submit_provider(uow: UnitOfWork, provider_id: int, *, expected_version: int | None = None) -> str:
    """Inventoried -> submitted to the office (facilitated by the platform)."""
    uow.actor.require("provider.submit")
    provider = await provider_for_change(uow, provider_id, expected_version)
    if provider.state == ProviderState.INVENTORIED:
        await require_documents(uow.session, provider)
    move(uow, provider, "submit")
    return provider.state


async def _suspension(uow: UnitOfWork, action: str, provider_id: int, reason: str, expected_version: int | None) -> str:
    uow.actor.require("provider.suspend")
    provider = await provider_for_change(uow, provider_id, expected_version)
    move(uow, provider, action, reason)
    return provider.state


@operation
async def suspend_provider(uow: UnitOfWork, provider_id: int, reason: str, *, expected_version: int | None = None) -> str:
    """Approved -> suspended: its courses take no new enrollments (see catalog.py)."""
    return await _suspension(uow, "suspend", provider_id, reason, expected_version)


@operation
async def reinstate_provider(uow: UnitOfWork, provider_id: int, reason: str, *, expected_version: int | None = None) -> str:
    """Suspended -> approved again."""
    return await _suspension(uow, "reinstate", provider_id, reason, expected_version)
