"""A provider's fields as a form or an import row gives them, validated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from store import validators
from store.errors import InvalidInput
from store.models import DocumentKind


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
