"""What the console shows of an application (its detail, criteria and row in the list), as returned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from store.criteria import is_override
from store.models import DECIDED_STATES
from store.paging import Cursor


@dataclass(frozen=True)
class CriterionView:
    number: int
    suggested: str | None
    verdict: str
    note: str
    set_by: str
    set_at: dt.datetime | None

    @property
    def overridden(self) -> bool:
        return is_override(self.verdict, self.suggested)


@dataclass(frozen=True)
class ApplicationDetail:
    id: int
    version: int
    state: str
    legal_name: str
    brand_name: str
    legal_form: str
    nib: str
    npwp: str
    portal_url: str
    provinces: tuple[str, ...]
    payment_integration: str
    own_group_providers: int
    third_party_providers: int
    licence_ref: str
    deed_ref: str
    ownership_group: str
    contact_name: str
    contact_email: str
    contact_phone: str
    submitted_on: dt.date
    previous_application_id: int | None
    recommendation: str | None
    recommendation_note: str
    recommended_by_id: int | None
    recommended_by: str
    recommended_at: dt.datetime | None
    decided_by: str
    decided_at: dt.datetime | None
    decision_note: str
    reject_reason: str | None
    platform_code: str | None
    provider_id: int | None
    criteria: tuple[CriterionView, ...]

    @property
    def decided(self) -> bool:
        return self.state in DECIDED_STATES

    def verdicts(self) -> dict[int, str]:
        return {criterion.number: criterion.verdict for criterion in self.criteria}


@dataclass(frozen=True)
class ApplicationRow:
    id: int
    brand_name: str
    legal_name: str
    legal_form: str
    state: str
    submitted_on: dt.date
    passed: int
    failed: int
    pending: int  # unchecked or waiting for information
    recommendation: str | None
    sort_key: Cursor
