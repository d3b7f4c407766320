"""Staged curation of providers by independent curators, under a versioned scheme.

Stages run in order: due diligence, governance, course assessment, and a facilities check for
providers that deliver offline. Each stage has indicators scored 0-4 with weights; a stage
passes when its weighted score reaches the stage's threshold; approval needs every applicable
stage passed. The indicators, weights and thresholds are configuration: an admin writes a new
scheme version, and a provider's assessments keep the version they started with.

Independence (KPK found the proposing platform curating its own providers): a curator scoped
to a platform, or affiliated with the provider's ownership group or with the group of a
platform that proposed it, may not assess that provider. The store refuses it.
"""

from __future__ import annotations

from store.services.curation.scheme import (
    MAX_SCORE,
    STAGE_ORDER,
    Indicator,
    Scheme,
    StageRule,
    applicable_stages,
    change_scheme,
    get_scheme,
    indicator_weight,
    latest_scheme,
    parse_stages,
    scheme_for,
    stages_json,
    threshold_centi,
    tune_scheme,
)
from store.services.curation.scoring import StageResult, stage_result
from store.services.curation.scorecard import (
    IndicatorScore,
    Scorecard,
    StageView,
    build_scorecard,
    get_scorecard,
    scorecard_of,
)
from store.services.curation.independence import (
    declare_affiliation,
    independence_refusal,
    may_assess,
    require_independent,
)
from store.services.curation.workflow import (
    approval_refusal,
    approve_provider,
    reject_provider,
    score_indicator,
    score_indicators,
    start_curation,
)
from store.services.curation.queue import QueueEntry, curation_queue

__all__ = [
    "Indicator", "IndicatorScore", "MAX_SCORE", "QueueEntry", "STAGE_ORDER", "Scheme", "Scorecard", "StageResult",
    "StageRule", "StageView", "applicable_stages", "approval_refusal", "approve_provider", "build_scorecard",
    "change_scheme", "curation_queue", "declare_affiliation", "get_scheme", "get_scorecard", "independence_refusal",
    "indicator_weight", "latest_scheme", "may_assess", "parse_stages", "reject_provider", "require_independent",
    "scheme_for", "score_indicator", "score_indicators", "scorecard_of", "stage_result", "stages_json",
    "start_curation", "threshold_centi", "tune_scheme",
]
