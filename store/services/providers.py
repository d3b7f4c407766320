"""Training providers: inventory, documents checklist, submission, suspension, lists and scope.

States (every move is audited with who, when and why):

    inventoried -> submitted -> in_curation -> approved | rejected      (curation.py decides)
    approved -> suspended -> approved again ("reinstated")

A provider comes in through a platform: platform staff inventory and submit their own platform's
providers (the office may do it for them); curators take it from there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVarTuple

from sqlalchemy import Select, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from store import validators
from store.actor import Actor
from store.counting import Count, count_of
from store.engine import Database
from store.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from store.failures import explain_constraint
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
from store.operation import get_held, hold, operation
from store.paging import Cursor, Page, page_of
from store.sorting import Order, ordered, sort_key
from store.text import fold, prefix_range
from store.uow import UnitOfWork, read_session

explain_constraint(("uq_provider_nib", "provider.nib"), "provider.nib_exists", Conflict)
explain_constraint("ck_provider_decision_has_reason", "provider.reason_required")
explain_constraint("ck_provider_document_invalid_has_note", "provider.invalid_needs_note")
explain_constraint("ck_provider_delivers_somehow", "provider.no_delivery_mode")

Ts = TypeVarTuple("Ts")


@dataclass(frozen=True)
class Transition:
    sources: frozenset[ProviderState]
    target: ProviderState
    event: str  # the audit action


TRANSITIONS: dict[str, Transition] = {
    "submit": Transition(frozenset({ProviderState.INVENTORIED}), ProviderState.SUBMITTED, "provider.submitted"),
    "start_curation": Transition(
        frozenset({ProviderState.SUBMITTED}), ProviderState.IN_CURATION, "provider.curation_started"
    ),
    "approve": Transition(frozenset({ProviderState.IN_CURATION}), ProviderState.APPROVED, "provider.approved"),
    "reject": Transition(
        frozenset({ProviderState.SUBMITTED, ProviderState.IN_CURATION}), ProviderState.REJECTED, "provider.rejected"
    ),
    "suspend": Transition(frozenset({ProviderState.APPROVED}), ProviderState.SUSPENDED, "provider.suspended"),
    "reinstate": Transition(frozenset({ProviderState.SUSPENDED}), ProviderState.APPROVED, "provider.reinstated"),
}
REASONED = frozenset({"reject", "suspend", "reinstate"})
# The company deed must show an entity at least this old when the provider is submitted.
MIN_AGE_DAYS = 365
# Who may still correct the documents checklist, by state: platform staff only before submission,
# the office (curators check documents in due diligence) until the decision.
PLATFORM_EDITABLE = frozenset({ProviderState.INVENTORIED})
OFFICE_EDITABLE = frozenset({ProviderState.INVENTORIED, ProviderState.SUBMITTED, ProviderState.IN_CURATION})
# The checklist's order: documents are shown, and missing ones named, in it.
DOCUMENT_ORDER = [kind.value for kind in DocumentKind]


# --- input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderFields:
    name: str
    legal_form: str
    nib: str
    npwp: str
    province_code: str
    address: str
    offers_online: bool
    offers_offline: bool
    founded_on: dt.date | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""


_YES = {"yes", "y", "true", "1", "ya"}
_NO = {"no", "n", "false", "0", "tidak", ""}


def yes_no(value: Any, field: str) -> bool:
    """A boolean from a form (bool) or a file ("yes"/"no", "ya"/"tidak", "1"/"0", empty = no)."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InvalidInput("input.yes_no", field=field, value=value)


def optional_date(value: Any, field: str, *, not_after: dt.date | None = None) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return validators.iso_date(value, field, not_after=not_after)


def provider_fields(values: Mapping[str, Any]) -> ProviderFields:
    """Validated fields from a form or an import row; each refusal names its field."""
    legal_form = validators.legal_form(str(values.get("legal_form") or ""))
    online = yes_no(values.get("online"), "online")
    offline = yes_no(values.get("offline"), "offline")
    if not (online or offline):
        raise InvalidInput("provider.no_delivery_mode", field="online")
    founded_on = optional_date(values.get("founded_on"), "founded_on", not_after=dt.date.today())
    return ProviderFields(
        name=validators.require_text(values.get("name"), "name"),
        legal_form=legal_form,
        nib=validators.nib(str(values.get("nib") or "")),
        npwp=validators.npwp(str(values.get("npwp") or "")),
        province_code=validators.province(str(values.get("province") or "")),
        address=validators.require_text(values.get("address"), "address", max_length=500),
        offers_online=online,
        offers_offline=offline,
        founded_on=founded_on,
        contact_name=" ".join(str(values.get("contact_name") or "").split())[:200],
        contact_email=validators.email(str(values.get("contact_email") or ""), "contact_email"),
        contact_phone=validators.phone(str(values.get("contact_phone") or ""), "contact_phone"),
    )


def document_kinds(value: str | Iterable[str], field: str = "documents") -> frozenset[str]:
    """Document kinds from a list or a space/comma separated text; unknown kinds are refused."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    kinds = frozenset(item.strip().lower() for item in items if item.strip())
    unknown = sorted(kinds - set(DocumentKind))
    if unknown:
        raise InvalidInput("input.document_kind", field=field, value=" ".join(unknown))
    return kinds


# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformRef:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class ProviderRow:
    """One line of the providers list."""

    id: int
    name: str
    nib: str
    state: str
    province_code: str
    offers_offline: bool
    platforms: str  # codes of the proposing platforms, comma separated


@dataclass(frozen=True)
class DocumentView:
    id: int
    kind: str
    status: str
    reference: str
    note: str
    version: int


def document_view(document: ProviderDocument) -> DocumentView:
    assert document.id is not None  # a document read
    return DocumentView(
        document.id, document.kind, document.status, document.reference, document.note, document.version
    )


@dataclass(frozen=True)
class ProviderView:
    id: int
    version: int
    name: str
    legal_form: str
    nib: str
    npwp: str
    province_code: str
    address: str
    offers_online: bool
    offers_offline: bool
    founded_on: dt.date | None
    ownership_group_id: int | None
    ownership_group: str
    platforms: tuple[PlatformRef, ...]
    contact_name: str
    contact_email: str
    contact_phone: str
    state: str
    state_reason: str
    documents: tuple[DocumentView, ...]

    @property
    def missing_documents(self) -> tuple[str, ...]:
        return tuple(d.kind for d in self.documents if d.status != DocumentStatus.PRESENT)


@dataclass(frozen=True)
class ProviderFilter:
    state: str = ""
    platform_id: int | None = None
    province: str = ""
    search: str = ""  # a name prefix, or digits: a NIB prefix
    sort: str = "name"  # one of PROVIDER_ORDERS


# The orders the providers list offers (store/sorting.py); names within a state or a province.
PROVIDER_ORDERS = {
    "name": Order((col(Provider.name_key), col(Provider.id))),
    "state": Order((col(Provider.state), col(Provider.name_key), col(Provider.id))),
    "province": Order((col(Provider.province_code), col(Provider.name_key), col(Provider.id))),
}


@dataclass(frozen=True)
class Choice:
    """A platform or ownership group offered in a form or a filter."""

    id: int
    code: str
    name: str


# --- scope ------------------------------------------------------------------------------------


async def platform_ids_of(session: AsyncSession, provider_id: int) -> frozenset[int]:
    """The proposing platforms, remembered for the rest of the session (a unit of work that
    touches one provider many times, like the demo builder's, asks once)."""
    known: dict[int, frozenset[int]] = session.info.setdefault("provider_platforms", {})
    if provider_id not in known:
        rows = await session.execute(
            select(col(ProviderPlatform.platform_id)).where(col(ProviderPlatform.provider_id) == provider_id)
        )
        known[provider_id] = frozenset(rows.scalars())
    return known[provider_id]


async def require_scope(session: AsyncSession, actor: Actor, provider_id: int) -> None:
    """Platform staff touch only providers their platform proposed."""
    if actor.is_platform_staff:
        actor.require_platform(await platform_ids_of(session, provider_id))


async def provider_for_change(uow: UnitOfWork, provider_id: int, expected_version: int | None = None) -> Provider:
    """The provider to change, after the scope and optimistic-lock checks."""
    provider = await get_held(uow.session, Provider, provider_id)
    if provider is None:
        raise NotFound("provider.not_found", id=provider_id)
    await require_scope(uow.session, uow.actor, provider_id)
    if expected_version is not None and provider.version != expected_version:
        raise Conflict("record.changed")
    return provider


def move(
    uow: UnitOfWork, provider: Provider, action: str, reason: str = "", details: dict[str, Any] | None = None
) -> None:
    """Change the provider's state by `action` (see TRANSITIONS) and audit it.

    The UPDATE is guarded by the row's version (SQLAlchemy's version_id_col), so a concurrent
    change of the same provider makes this transaction fail instead of overwriting it.
    """
    transition = TRANSITIONS[action]
    if provider.state not in transition.sources:
        raise RuleViolation(f"provider.transition.{action}", state=provider.state, name=provider.name)
    reason = " ".join((reason or "").split())
    if action in REASONED and not reason:
        raise InvalidInput("input.required", field="reason")
    before = {"state": provider.state, "state_reason": provider.state_reason}
    provider.state = transition.target
    provider.state_reason = reason
    uow.audit(
        transition.event, "provider", provider.id, before=before,
        after={"state": transition.target.value, "state_reason": reason}, details=details, reason=reason,
    )


# --- inventory --------------------------------------------------------------------------------


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


# --- reading ----------------------------------------------------------------------------------


async def _platform_codes(session: AsyncSession, provider_ids: list[int]) -> dict[int, list[str]]:
    codes: dict[int, list[str]] = {}
    if not provider_ids:
        return codes
    rows = await session.execute(
        select(col(ProviderPlatform.provider_id), col(Platform.code))
        .join(Platform, col(Platform.id) == col(ProviderPlatform.platform_id))
        .where(col(ProviderPlatform.provider_id).in_(provider_ids))
        .order_by(col(Platform.code))
    )
    for provider_id, code in rows:
        codes.setdefault(provider_id, []).append(code)
    return codes


def _listed(query: Select[*Ts], actor: Actor, filters: ProviderFilter) -> Select[*Ts]:
    """`query` over provider narrowed by `filters` and by platform staff's scope (the page and its count)."""
    platform_id = actor.platform_id if actor.is_platform_staff else filters.platform_id
    if platform_id is not None:
        query = query.where(
            exists().where(
                col(ProviderPlatform.provider_id) == col(Provider.id), col(ProviderPlatform.platform_id) == platform_id
            )
        )
    if filters.state:
        query = query.where(col(Provider.state) == filters.state)
    if filters.province:
        query = query.where(col(Provider.province_code) == filters.province)
    search = filters.search.strip()
    if search:
        digits = search.replace(".", "").replace("-", "").replace(" ", "")
        if validators.is_digits(digits):
            query = query.where(col(Provider.nib) >= digits, col(Provider.nib) < digits + "\uffff")
        else:
            low, high = prefix_range(search)
            query = query.where(col(Provider.name_key) >= low, col(Provider.name_key) < high)
    return query


async def list_providers(
    db: Database, actor: Actor, filters: ProviderFilter, cursor: Cursor | None = None, limit: int = 100
) -> Page[ProviderRow]:
    """One keyset page in the filter's order; platform staff see only their platform's providers."""
    actor.require("provider.read")
    query = _listed(select(
        col(Provider.id), col(Provider.name), col(Provider.nib), col(Provider.state), col(Provider.province_code),
        col(Provider.offers_offline),
    ), actor, filters)
    async with read_session(db) as session:
        rows = (await session.execute(ordered(query, PROVIDER_ORDERS, filters.sort, cursor, limit))).all()
        page = page_of(rows, limit, sort_key)
        codes = await _platform_codes(session, [row.id for row in page.rows])
    return Page(
        [
            ProviderRow(
                row.id, row.name, row.nib, row.state, row.province_code, row.offers_offline,
                # Which other platforms propose a provider is their business, not platform staff's.
                ", ".join(c for c in codes.get(row.id, []) if not actor.is_platform_staff or c == actor.platform_code),
            )
            for row in page.rows
        ],
        page.next_cursor,
    )


async def count_providers(db: Database, actor: Actor, filters: ProviderFilter) -> Count:
    """How many providers the list under `filters` holds, in the actor's scope (store/counting.py)."""
    actor.require("provider.read")
    async with read_session(db) as session:
        return await count_of(session, _listed(select(col(Provider.id)), actor, filters))


async def provider_view(session: AsyncSession, actor: Actor, provider_id: int) -> ProviderView:
    """The provider with its platforms and documents (for reads inside a session)."""
    actor.require("provider.read")
    provider = await session.get(Provider, provider_id)
    if provider is None:
        raise NotFound("provider.not_found", id=provider_id)
    await require_scope(session, actor, provider_id)
    platforms = (
        await session.execute(
            select(col(Platform.id), col(Platform.code), col(Platform.name))
            .join(ProviderPlatform, col(ProviderPlatform.platform_id) == col(Platform.id))
            .where(col(ProviderPlatform.provider_id) == provider_id)
            .order_by(col(Platform.code))
        )
    ).all()
    group = (
        await session.get(OwnershipGroup, provider.ownership_group_id) if provider.ownership_group_id else None
    )
    documents = sorted(
        (
            await session.execute(select(ProviderDocument).where(col(ProviderDocument.provider_id) == provider_id))
        ).scalars(),
        key=lambda document: DOCUMENT_ORDER.index(document.kind),
    )
    return ProviderView(
        provider_id, provider.version, provider.name, provider.legal_form, provider.nib, provider.npwp,
        provider.province_code, provider.address, provider.offers_online, provider.offers_offline,
        provider.founded_on, provider.ownership_group_id, group.name if group else "",
        tuple(PlatformRef(row.id, row.code, row.name) for row in platforms), provider.contact_name,
        provider.contact_email, provider.contact_phone, provider.state, provider.state_reason,
        tuple(document_view(document) for document in documents),
    )


async def get_provider(db: Database, actor: Actor, provider_id: int) -> ProviderView:
    async with read_session(db) as session:
        return await provider_view(session, actor, provider_id)


async def platform_choices(db: Database, actor: Actor) -> list[Choice]:
    """Platforms for filters and forms (platform staff: their own only)."""
    query = select(col(Platform.id), col(Platform.code), col(Platform.name)).order_by(col(Platform.name))
    if actor.is_platform_staff:
        query = query.where(col(Platform.id) == actor.platform_id)
    async with read_session(db) as session:
        return [Choice(row.id, row.code, row.name) for row in await session.execute(query)]


async def group_choices(db: Database, actor: Actor) -> list[Choice]:
    async with read_session(db) as session:
        rows = await session.execute(
            select(col(OwnershipGroup.id), col(OwnershipGroup.code), col(OwnershipGroup.name))
            .order_by(col(OwnershipGroup.name))
        )
        return [Choice(row.id, row.code, row.name) for row in rows]
