"""Training providers: inventory, documents checklist, submission, suspension, lists and scope.

States (every move is audited with who, when and why):

    inventoried -> submitted -> in_curation -> approved | rejected      (the curation package decides)
    approved -> suspended -> approved again ("reinstated")

A provider comes in through a platform: platform staff inventory and submit their own platform's
providers (the office may do it for them); curators take it from there.
"""

from __future__ import annotations

from store.services.providers.states import (
    DOCUMENT_ORDER,
    MIN_AGE_DAYS,
    OFFICE_EDITABLE,
    PLATFORM_EDITABLE,
    REASONED,
    TRANSITIONS,
    Transition,
)
from store.services.providers.fields import ProviderFields, document_kinds, optional_date, provider_fields, yes_no
from store.services.providers.views import (
    PROVIDER_ORDERS,
    Choice,
    DocumentView,
    PlatformRef,
    ProviderFilter,
    ProviderRow,
    ProviderView,
    document_view,
)
from store.services.providers.scope import move, platform_ids_of, provider_for_change, require_scope
from store.services.providers.inventory import (
    documents_refusal,
    inventory_provider,
    missing_documents,
    reinstate_provider,
    require_documents,
    set_document,
    submit_provider,
    suspend_provider,
)
from store.services.providers.reading import (
    count_providers,
    get_provider,
    group_choices,
    list_providers,
    platform_choices,
    provider_view,
)

__all__ = [
    # states
    "DOCUMENT_ORDER", "MIN_AGE_DAYS", "OFFICE_EDITABLE", "PLATFORM_EDITABLE", "REASONED", "TRANSITIONS",
    "Transition",
    # fields
    "ProviderFields", "document_kinds", "optional_date", "provider_fields", "yes_no",
    # views
    "PROVIDER_ORDERS", "Choice", "DocumentView", "PlatformRef", "ProviderFilter", "ProviderRow", "ProviderView",
    "document_view",
    # scope
    "move", "platform_ids_of", "provider_for_change", "require_scope",
    # inventory
    "documents_refusal", "inventory_provider", "missing_documents", "reinstate_provider", "require_documents",
    "set_document", "submit_provider", "suspend_provider",
    # reading
    "count_providers", "get_provider", "group_choices", "list_providers", "platform_choices", "provider_view",
]
