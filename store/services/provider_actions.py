"""Which decisions an operator may take on a training provider now, and if not, why.

The states come from the providers' transition table (providers.TRANSITIONS), the other checks
are the ones the operations run (documents and deed age at submission, the curator's
independence, every applicable stage passed and the file complete at approval), so the provider
screen offers a key only when the store would accept it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.allowed import Actions, StateRule, judge_table
from store.errors import MitraError, RuleViolation
from store.models import Provider, ProviderState
from store.services import curation, providers
from store.services.courses import OPEN_PROVIDER_STATES

PERMISSIONS = {
    "submit": "provider.submit",
    "start_curation": "provider.curate",
    "approve": "provider.decide",
    "reject": "provider.decide",
    "suspend": "provider.suspend",
    "reinstate": "provider.suspend",
}
PROVIDER_RULES: dict[str, StateRule] = {
    **{
        action: StateRule(permission, tuple(providers.TRANSITIONS[action].sources), f"provider.transition.{action}")
        for action, permission in PERMISSIONS.items()
    },
    "new_course": StateRule("course.edit", tuple(OPEN_PROVIDER_STATES), "course.provider_closed"),
}
# Decisions of the curation: only an independent curator takes them.
CURATORS_DECISIONS = ("start_curation", "approve", "reject")


async def judge_provider(session: AsyncSession, actor: Actor, provider: Provider, card: curation.Scorecard) -> Actions:
    checks: dict[str, list[MitraError | None]] = {}
    if provider.state == ProviderState.INVENTORIED and actor.can("provider.submit"):
        checks["submit"] = [await providers.documents_refusal(session, provider)]
    if actor.can("provider.curate") or actor.can("provider.decide"):
        independence = await curation.independence_refusal(session, actor, provider)
        for action in CURATORS_DECISIONS:
            checks[action] = [independence]
        if provider.state == ProviderState.IN_CURATION:
            checks["approve"].append(await curation.approval_refusal(session, provider, card))
    return judge_table(PROVIDER_RULES, actor, provider.state, checks, name=provider.name)


def refusal_keys(actions: Actions) -> dict[str, str | None]:
    """Action -> the refusal's key (None when allowed): compact, for tests and logs."""
    return {action: (refusal.key if isinstance(refusal, RuleViolation | MitraError) else None)
            for action, refusal in actions.items()}
