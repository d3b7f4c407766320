"""A stage's weighted score against its threshold, pure, so the live outlook and the recorded result agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from store.services.curation.scheme import MAX_SCORE, StageRule


def _weighted_centi(total: int, weights: int) -> int:
    """Weighted mean in hundredths of a point, rounded half up, in integers."""
    return (200 * total + weights) // (2 * weights) if weights else 0


@dataclass(frozen=True)
class StageResult:
    scored: int
    total: int
    score_centi: int | None  # weighted mean of the indicators scored so far
    threshold_centi: int
    best_centi: int  # if every unscored indicator got 4
    worst_centi: int  # if every unscored indicator got 0

    @property
    def complete(self) -> bool:
        return self.scored == self.total

    @property
    def passed(self) -> bool | None:
        """True or False once every indicator is scored; None before."""
        if not self.complete:
            return None
        assert self.score_centi is not None  # every indicator scored (a stage has at least one)
        return self.score_centi >= self.threshold_centi

    @property
    def outlook(self) -> str:
        """The live verdict: pass / fail (settled, even before the last score) or open."""
        if self.worst_centi >= self.threshold_centi:
            return "pass"
        if self.best_centi < self.threshold_centi:
            return "fail"
        return "open"


def stage_result(rule: StageRule, scores: Mapping[str, int]) -> StageResult:
    weights = rule.total_weight
    scored = [i for i in rule.indicators if i.code in scores]
    scored_weights = sum(i.weight for i in scored)
    points = sum(i.weight * scores[i.code] for i in scored)
    unscored_weights = weights - scored_weights
    return StageResult(
        scored=len(scored),
        total=len(rule.indicators),
        score_centi=_weighted_centi(points, scored_weights) if scored else None,
        threshold_centi=rule.threshold_centi,
        best_centi=_weighted_centi(points + MAX_SCORE * unscored_weights, weights),
        worst_centi=_weighted_centi(points, weights),
    )
