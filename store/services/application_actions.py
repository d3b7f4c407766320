"""Which steps an operator may take on a platform application now, and if not, why; and which
outcomes its verdicts allow. The review operations enforce the same table (applications/review.py, decision.py), so
the review screen offers a step only when the store would accept it, and the outcome prompt
refuses an outcome the verdicts do not support before anything is confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.actor import Actor
from store.allowed import Actions, StateRule, judge_table
from store.criteria import check_outcome
from store.errors import MitraError, RuleViolation
from store.models import DECIDED_STATES, ApplicationState as S, Recommendation

APPLICATION_RULES: dict[str, StateRule] = {
    "verdict": StateRule("application.review", (S.SUBMITTED, S.IN_REVIEW), "application.review_closed"),
    "request_info": StateRule("application.review", (S.IN_REVIEW,), "application.not_in_review"),
    "answer": StateRule("application.review", (S.NEEDS_INFO,), "application.not_waiting"),
    "recommend": StateRule("application.recommend", (S.IN_REVIEW,), "application.not_in_review"),
    "send_back": StateRule("application.decide", (S.RECOMMENDED,), "application.not_recommended"),
    "decide": StateRule("application.decide", (S.RECOMMENDED,), "application.not_recommended"),
}


def outcome_refusal(outcome: str, verdicts: dict[int, str]) -> RuleViolation | None:
    try:
        check_outcome(outcome, verdicts)
    except RuleViolation as refused:
        return refused
    return None


@dataclass(frozen=True)
class ApplicationActions:
    actions: Actions
    # Recommendation -> None when the verdicts allow it, or why not.
    outcomes: dict[str, MitraError | None]


def judge_application(actor: Actor, state: str, verdicts: dict[int, str], recommended_by: int | None) -> ApplicationActions:
    """The steps `actor` may take on an application in `state` with these verdicts."""
    checks: dict[str, list[MitraError | None]] = {
        # Maker-checker: who recommended does not decide.
        "decide": [RuleViolation("application.same_person") if recommended_by == actor.operator_id else None],
    }
    actions = judge_table(APPLICATION_RULES, actor, state, checks)
    if state in DECIDED_STATES:  # every step is closed, for the same reason the operations give
        actions = Actions(
            {action: refusal if refusal is None or not isinstance(refusal, RuleViolation)
             else RuleViolation("application.decided") for action, refusal in actions.items()},
            out_of_state=list(actions),
        )
    outcomes: dict[str, MitraError | None] = {
        outcome.value: outcome_refusal(outcome, verdicts) for outcome in Recommendation
    }
    return ApplicationActions(actions, outcomes)
