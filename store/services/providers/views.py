"""What the providers' services return: rows of the list, a provider's view, its documents, filters and choices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import col

from store.models import DocumentStatus, Provider, ProviderDocument
from store.sorting import Order


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
