"""Which actions an operator may take on a record now, and if not, why.

Each record kind has a table of `StateRule`s: the permission an action needs and the states it
applies in. The operations enforce their rule through the same table (`StateRule.enforce`), and
the record kind's `..._actions` function (one per kind, next to its operations) judges every
action of the table for an operator, adding the kind's own checks (maker-checker, documents
present, ...). The answer is an `Actions` map: for each action, None when it may be taken, or the
error the operation would raise. Screens show only what is allowed and give the reason for the
rest, so a key never promises what the store then refuses.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from store.actor import Actor
from store.errors import MitraError, PermissionDenied, RuleViolation


@dataclass(frozen=True)
class StateRule:
    permission: str
    states: tuple[str, ...]
    # The rule's key when the record is in another state (params: the record's id and its state).
    refusal: str

    def enforce(self, state: str, **params: Any) -> None:
        """Raise the refusal when the record's state is not one the action applies in."""
        if state not in self.states:
            raise RuleViolation(self.refusal, state=state, **params)

    def judge(self, actor: Actor, state: str, **params: Any) -> MitraError | None:
        """Why `actor` may not take the action on a record in `state`, or None."""
        if not actor.can(self.permission):
            return PermissionDenied("permission.denied", permission=self.permission, operator=actor.username)
        if state not in self.states:
            return RuleViolation(self.refusal, state=state, **params)
        return None


class Actions(Mapping[str, MitraError | None]):
    """Action name -> None (allowed now) or the refusal the operation would give."""

    def __init__(self, refusals: Mapping[str, MitraError | None], out_of_state: Iterable[str] = ()) -> None:
        self._refusals = dict(refusals)
        self._out_of_state = frozenset(out_of_state)

    def __getitem__(self, action: str) -> MitraError | None:
        return self._refusals[action]

    def __iter__(self) -> Iterator[str]:
        return iter(self._refusals)

    def __len__(self) -> int:
        return len(self._refusals)

    def allowed(self, action: str) -> bool:
        return action in self._refusals and self._refusals[action] is None

    def permitted(self, action: str) -> bool:
        """The operator's roles allow the action (now or in another state): worth showing."""
        refusal = self._refusals.get(action)
        return action in self._refusals and not isinstance(refusal, PermissionDenied)

    def applies(self, action: str) -> bool:
        """The operator's roles allow the action and the record's state is one it applies in (it
        may still be refused by the kind's own checks: `why_not` says why)."""
        return self.permitted(action) and action not in self._out_of_state

    def why_not(self, action: str) -> MitraError | None:
        return self._refusals.get(action)

    @property
    def held_back(self) -> dict[str, MitraError]:
        """Actions that apply but are refused now, with the reason: what a screen explains."""
        return {action: refusal for action, refusal in self._refusals.items()
                if refusal is not None and self.applies(action)}

    @property
    def allowed_now(self) -> list[str]:
        return [action for action, refusal in self._refusals.items() if refusal is None]


def judge_table(
    table: Mapping[str, StateRule], actor: Actor, state: str, checks: Mapping[str, Iterable[MitraError | None]] = {},
    **params: Any,
) -> Actions:
    """Every action of `table` judged for `actor` on a record in `state`; `checks` adds, per
    action, the kind's own refusals (the first that applies wins, after permission and state)."""
    refusals: dict[str, MitraError | None] = {}
    for action, rule in table.items():
        refusal = rule.judge(actor, state, **params)
        if refusal is None:
            refusal = next((found for found in checks.get(action, ()) if found is not None), None)
        refusals[action] = refusal
    return Actions(refusals, [action for action, rule in table.items() if state not in rule.states])
