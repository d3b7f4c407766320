"""How the Providers area words its codes: states, stages, documents, scores and percentages."""

from __future__ import annotations

from rich.text import Text

from store.services.curation import Scorecard, StageView
from store.validators import hundredths_text
from tui.i18n import t


def plain(value: str) -> Text:
    """Operator-typed text for a table cell, shown as typed (a "[" is not markup)."""
    return Text(value)


def label(kind: str, code: str) -> str:
    """The catalog's word for a code: label("state", "in_curation") -> "In curation"."""
    return t(f"providers.{kind}.{code}")


# A score in hundredths of a point as "3.25" ("-" when there is none).
points = hundredths_text


def percent(bp: int) -> str:
    whole, part = divmod(bp, 100)
    return (f"{whole}.{part:02d}".rstrip("0").rstrip(".")) + " %"


def yes_no(value: bool) -> str:
    return t("providers.yes") if value else t("providers.no")


def stage_verdict(stage: StageView) -> str:
    """The stage's live verdict: passed / failed (settled even before the last score) / open."""
    result = stage.result
    threshold = points(stage.threshold_centi)
    if not stage.applicable:
        return t("providers.verdict.not_applicable")
    if result.passed is True:
        return t("providers.verdict.passed", score=points(result.score_centi), threshold=threshold)
    if result.passed is False:
        return t("providers.verdict.failed", score=points(result.score_centi), threshold=threshold)
    if not stage.open:
        return t("providers.verdict.locked")
    if result.scored == 0:
        return t("providers.verdict.unscored", total=result.total, threshold=threshold)
    if result.outlook == "fail":
        return t("providers.verdict.cannot_pass", scored=result.scored, total=result.total, threshold=threshold)
    if result.outlook == "pass":
        return t("providers.verdict.will_pass", scored=result.scored, total=result.total, threshold=threshold)
    return t(
        "providers.verdict.open", scored=result.scored, total=result.total, threshold=threshold,
        score=points(result.score_centi),
    )


def stage_summary(card: Scorecard) -> str:
    """The applicable stages' scores against their thresholds, as approving a provider states them."""
    return "\n".join(
        f"{label('stage', stage.stage)}: {points(stage.result.score_centi)} / {points(stage.threshold_centi)}"
        for stage in card.stages if stage.applicable
    )
