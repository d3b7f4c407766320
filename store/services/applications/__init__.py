"""Platform applications: the review workflow, the two-person decision, and the reads behind them.

    submitted -> in review <-> needs information -> recommended -> approved | rejected | reclassified
                                                 (sent back to review by an approver)

A reviewer sets the seven verdicts and recommends; an approver who is not that reviewer decides
(maker-checker, also the CHECK constraint `decider_not_recommender`). Approval creates the platform,
reclassification an inventoried training provider. Decided applications are read-only: the services
refuse, and database triggers are the backstop. Every change is one unit of work with its audit
event and bumps the application's version, so acting on a stale view reads "changed by someone
else" instead of deciding on criteria that moved meanwhile.
"""

from __future__ import annotations

from store.services.applications.views import ApplicationDetail, ApplicationRow, CriterionView
from store.services.applications.reading import (
    APPLICATION_ORDERS,
    ROLE_QUEUES,
    application_history,
    get_application,
    list_applications,
    waiting_states,
)
from store.services.applications.review import (
    NOTE_MAX,
    recommend,
    record_answer,
    request_information,
    send_back,
    set_verdict,
)
from store.services.applications.decision import OUTCOME_STATE, DecisionPreview, decide, decision_preview

__all__ = [
    "APPLICATION_ORDERS", "ApplicationDetail", "ApplicationRow", "CriterionView", "DecisionPreview", "NOTE_MAX",
    "OUTCOME_STATE", "ROLE_QUEUES", "application_history", "decide", "decision_preview", "get_application",
    "list_applications", "recommend", "record_answer", "request_information", "send_back", "set_verdict",
    "waiting_states",
]
