"""The seven criteria of a platform application, and the rules that read the verdicts.

Pure functions (no database), shared by the services, the console and the tests:
- `suggestions(...)`: the verdicts the data suggests for criteria 1, 2, 5 and 7;
- `note_required(...)`: a fail, a "needs information" or an override of a suggestion says why;
- `check_outcome(...)`: approve only when all seven pass; reclassify as a training provider only
  when the applicant is no marketplace (criterion 7 fails) but meets what a provider must.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from store.errors import RuleViolation
from store.models import Criterion, LegalForm, Recommendation, Verdict
from store.provinces import NATIONAL_COVERAGE_MIN

# Private applicants must be a PT; state-owned, regionally-owned and government bodies are accepted.
ELIGIBLE_LEGAL_FORMS = frozenset({LegalForm.PT, LegalForm.BUMN, LegalForm.BUMD, LegalForm.GOVERNMENT})

SUGGESTED_CRITERIA = frozenset(
    {Criterion.LEGAL_FORM, Criterion.NATIONAL_COVERAGE, Criterion.PROVIDER_COOPERATION, Criterion.MARKETPLACE}
)

# What still matters when the applicant becomes a training provider instead of a platform: its
# business licence and deed (a provider's curation asks for the same documents). Coverage, payment
# integration, a portal and provider partnerships are platform duties.
PROVIDER_CRITERIA = frozenset({Criterion.LICENCE_AND_DEED})


def suggestions(
    legal_form: str, province_count: int, own_group_providers: int, third_party_providers: int
) -> dict[int, str | None]:
    """The suggested verdict per criterion number (None where the data cannot say)."""

    def verdict(ok: bool) -> str:
        return Verdict.PASS if ok else Verdict.FAIL

    suggested: dict[int, str | None] = {criterion.value: None for criterion in Criterion}
    suggested[Criterion.LEGAL_FORM] = verdict(legal_form in ELIGIBLE_LEGAL_FORMS)
    suggested[Criterion.NATIONAL_COVERAGE] = verdict(province_count >= NATIONAL_COVERAGE_MIN)
    suggested[Criterion.PROVIDER_COOPERATION] = verdict(own_group_providers + third_party_providers > 0)
    # A marketplace sells courses of providers outside its own ownership group.
    suggested[Criterion.MARKETPLACE] = verdict(third_party_providers > 0)
    return suggested


def is_override(verdict: str, suggested: str | None) -> bool:
    """A verdict that departs from the data's suggestion (resetting to unchecked is no override)."""
    return suggested is not None and verdict not in (suggested, Verdict.UNCHECKED)


def note_required(verdict: str, suggested: str | None) -> bool:
    return verdict in (Verdict.FAIL, Verdict.NEEDS_INFO) or is_override(verdict, suggested)


def _numbers(criteria: Iterable[int]) -> str:
    return ", ".join(str(int(number)) for number in sorted(criteria))


def check_outcome(outcome: str, verdicts: Mapping[int, str]) -> None:
    """Refuse an outcome the verdicts do not support (rejection is always possible)."""
    if outcome == Recommendation.APPROVE:
        not_passed = [number for number in Criterion if verdicts.get(number) != Verdict.PASS]
        if not_passed:
            raise RuleViolation("application.approve_needs_all_pass", criteria=_numbers(not_passed))
    elif outcome == Recommendation.RECLASSIFY:
        if verdicts.get(Criterion.MARKETPLACE) != Verdict.FAIL:
            raise RuleViolation("application.reclassify_needs_no_marketplace")
        not_passed = [number for number in PROVIDER_CRITERIA if verdicts.get(number) != Verdict.PASS]
        if not_passed:
            raise RuleViolation("application.reclassify_needs_provider_criteria", criteria=_numbers(not_passed))
    elif outcome != Recommendation.REJECT:
        raise RuleViolation("application.outcome_unknown", outcome=outcome)
