"""Providers' states and rules: the moves between states, the checks the database makes, who edits the checklist."""

from __future__ import annotations

from dataclasses import dataclass

from store.errors import Conflict
from store.failures import explain_constraint
from store.models import DocumentKind, ProviderState

explain_constraint(("uq_provider_nib", "provider.nib"), "provider.nib_exists", Conflict)
explain_constraint("ck_provider_decision_has_reason", "provider.reason_required")
explain_constraint("ck_provider_document_invalid_has_note", "provider.invalid_needs_note")
explain_constraint("ck_provider_delivers_somehow", "provider.no_delivery_mode")


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
