"""Choosing an outcome (approve, reject with a reason, reclassify) with a note, the new platform's
terms for an approval, and the sentences the confirmation shows before a recommendation or a
decision is written."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from store.errors import MitraError
from store.models import Recommendation, RejectReason
from store.services import platforms
from store.services.applications import ApplicationDetail, DecisionPreview
from store.services.platforms import PlatformTerms
from tui.i18n import describe_error, t
from tui.money import percent
from tui.widgets.plain import Label, Select, Static
from tui.widgets.prompt import PromptScreen


@dataclass(frozen=True)
class OutcomeChoice:
    outcome: str
    reason: str | None  # reject only
    note: str


class OutcomePrompt(PromptScreen):
    """Outcome (preselected), rejection reason (for a rejection) and note; Enter in the note
    accepts, Esc cancels. Dismisses with an OutcomeChoice or None."""

    def __init__(self, title: str, outcome: str, reason: str | None = None, *,
                 refusals: dict[str, MitraError | None] | None = None) -> None:
        super().__init__(title)
        self._outcome = outcome
        self._reason = reason
        # The store's answer per outcome (application_actions): a refused one is explained here,
        # with the note kept, instead of after the confirmation.
        self._refusals = refusals or {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.title_label()
            yield Label(t("applications.outcome_label"))
            yield Select(
                [(t("applications.outcome." + o.value), o.value) for o in Recommendation],
                value=self._outcome, allow_blank=False, id="outcome-select",
            )
            yield Label(t("field.reason"), id="reason-label")
            yield Select(
                [(t("applications.reason." + r.value), r.value) for r in RejectReason],
                value=self._reason or RejectReason.CRITERIA_NOT_MET.value, allow_blank=False, id="reason-select",
            )
            yield Label(t("field.note"))
            yield Input(id="outcome-note", placeholder=t("applications.note_placeholder"))
            yield from self.footer_lines()

    def on_mount(self) -> None:
        self._show_reason()
        self.query_one("#outcome-note", Input).focus()

    def _outcome_value(self) -> str:
        return str(self.query_one("#outcome-select", Select).value)

    def _show_reason(self) -> None:
        rejecting = self._outcome_value() == Recommendation.REJECT
        self.query_one("#reason-label").display = rejecting
        self.query_one("#reason-select").display = rejecting

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "outcome-select":
            self._show_reason()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        note = event.value.strip()
        if not note:
            self.show_error(t("prompt.required"))
            return
        outcome = self._outcome_value()
        refused = self._refusals.get(outcome)
        if refused is not None:
            self.show_error(describe_error(refused))
            return
        reason = str(self.query_one("#reason-select", Select).value) if outcome == Recommendation.REJECT else None
        self.dismiss(OutcomeChoice(outcome, reason, note))


class TermsPrompt(PromptScreen):
    """The new platform's code, agreement number and date, and commission cap, prefilled with the
    proposed ones for the approver to correct from the signed agreement. Enter moves to the next
    field and accepts on the last; dismisses with the PlatformTerms or None."""

    FIELDS = ("code", "agreement_number", "agreement_date", "commission_cap")

    def __init__(self, title: str, proposed: PlatformTerms, error: MitraError | None = None) -> None:
        super().__init__(title)
        self._proposed = proposed
        self._error = error  # the store's refusal of these terms, shown again beside them

    def on_mount(self) -> None:
        if self._error is not None:
            self.show_error(describe_error(self._error))
            field = self._error.params.get("field") or ("code" if self._error.key == "platforms.code_taken" else None)
            if field in self.FIELDS:
                self.query_one("#terms-" + field, Input).focus()

    def compose(self) -> ComposeResult:
        proposed = self._proposed
        values = (proposed.code, proposed.agreement_number, proposed.agreement_date.isoformat(),
                  percent(proposed.commission_cap_bp).removesuffix(" %"))
        with Vertical():
            yield self.title_label()
            yield Static(t("applications.terms_body", name=proposed.name))
            for name, value in zip(self.FIELDS, values):
                yield Label(t("field." + name))
                yield Input(value=value, id="terms-" + name)
            yield from self.footer_lines()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        position = inputs.index(event.input)
        if position < len(inputs) - 1:
            inputs[position + 1].focus()
            return
        typed = {name: self.query_one("#terms-" + name, Input).value for name in self.FIELDS}
        try:
            terms = platforms.edited_terms(self._proposed, **typed)
        except MitraError as error:
            self.show_error(describe_error(error))
            field = error.params.get("field")
            if field in self.FIELDS:
                self.query_one("#terms-" + field, Input).focus()
            return
        self.dismiss(terms)


def _outcome_sentence(outcome: str, name: str, legal_name: str, reason: str | None) -> str:
    return t(
        "applications.outcome_sentence." + outcome, name=name, legal_name=legal_name,
        reason=t("applications.reason." + reason) if reason else "",
    )


def recommendation_text(detail: ApplicationDetail, choice: OutcomeChoice) -> str:
    return "\n\n".join([
        t("applications.confirm_recommend", outcome=_outcome_sentence(choice.outcome, detail.brand_name,
                                                                        detail.legal_name, choice.reason)),
        t("applications.confirm_note", note=choice.note),
    ])


def decision_text(preview: DecisionPreview, choice: OutcomeChoice) -> str:
    parts = [_outcome_sentence(choice.outcome, preview.brand_name, preview.legal_name, choice.reason)]
    if preview.terms is not None:
        terms = preview.terms
        parts.append(t(
            "applications.confirm_platform", name=terms.name, code=terms.code, number=terms.agreement_number,
            date=terms.agreement_date.isoformat(), cap=percent(terms.commission_cap_bp),
        ))
    if preview.provider_name:
        parts.append(t("applications.confirm_provider", name=preview.provider_name))
    if preview.recommendation and preview.recommendation != choice.outcome:
        parts.append(t("applications.confirm_differs", outcome=t("applications.outcome." + preview.recommendation)))
    parts.append(t("applications.confirm_note", note=choice.note))
    parts.append(t("applications.confirm_final"))
    return "\n\n".join(parts)
