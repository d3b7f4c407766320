"""Preparing a batch (finance): choose the kind and the scope, optionally narrow it, see the
candidates' count and total, then create the draft (after a confirmation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from screens.payments_batch import fee_split
from store.models import BatchKind
from store.services.payments import batches, browse
from store.services.payments.payables import CandidateFilter, CandidateSummary, Scope
from store.services.payments.views import BatchRow
from tui.i18n import t
from tui.money import group_digits, in_words, rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.plain import Label, Select, Static
from tui.workers import ServiceCaller

Value = TypeVar("Value")


def set_options_keeping_value(select: Select[Value], options: Sequence[tuple[str, Value]]) -> None:
    """New option labels (a language switch) without losing the operator's choice."""
    value = select.value
    select.set_options(options)
    if any(option_value == value for _, option_value in options):
        select.value = value
    # The same value again (the first option, "all") changes nothing, so the Select would go on
    # showing the old language's label: have it show the new one.
    select.mutate_reactive(Select.value)  # type: ignore[misc]  # Select's own reactive, whatever its type


LABELS = {
    "#prepare-title": "payments.prepare.title", "#label-kind": "payments.prepare.kind",
    "#label-platform": "payments.prepare.platform", "#label-wave": "payments.prepare.wave",
    "#label-payer": "payments.prepare.payer", "#label-province": "payments.prepare.province",
    "#label-completed-by": "payments.prepare.completed_by", "#label-limit": "payments.prepare.limit",
}
BUTTONS = {
    "#prepare-close": "keys.cancel", "#prepare-preview": "payments.prepare.preview",
    "#prepare-create": "payments.prepare.create",
}


class PrepareScreen(ServiceCaller, ModalScreen[BatchRow | None]):
    """Dismisses with the new draft, or None."""

    DEFAULT_CSS = """
    PrepareScreen { align: center middle; }
    PrepareScreen > VerticalScroll {
        width: 90; height: auto; max-height: 95%; border: thick $accent; background: $surface; padding: 1 2;
    }
    PrepareScreen #prepare-title { text-style: bold; margin-bottom: 1; }
    PrepareScreen Label { margin-top: 1; }
    PrepareScreen .scope { height: auto; }
    PrepareScreen #prepare-filters Input { width: 1fr; }
    PrepareScreen #prepare-filters { height: auto; }
    PrepareScreen #prepare-filters Vertical { height: auto; width: 1fr; margin-right: 1; }
    PrepareScreen #prepare-result { margin: 1 0; height: auto; }
    PrepareScreen #prepare-buttons { height: auto; align-horizontal: right; }
    PrepareScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "keys.cancel", id="mitra.prepare.close")]

    def __init__(self) -> None:
        super().__init__()
        self.summary: CandidateSummary | None = None
        self._choices: browse.ScopeChoices | None = None
        self._platforms: dict[str, str] = {}  # code -> name
        self._previewed: tuple[Scope, CandidateFilter] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label(id="prepare-title")
            yield Label(id="label-kind")
            yield Select(self._kinds(), allow_blank=False, value=BatchKind.TRAINING_FEE.value, id="prepare-kind")
            with Vertical(id="fee-scope", classes="scope"):
                yield Label(id="label-platform")
                yield Select([], prompt=t("payments.prepare.platform"), id="prepare-platform")
            with Vertical(id="incentive-scope", classes="scope"):
                yield Label(id="label-wave")
                yield Select([], prompt=t("payments.prepare.wave"), id="prepare-wave")
                yield Label(id="label-payer")
                yield Select([], prompt=t("payments.prepare.payer"), id="prepare-payer")
            with Horizontal(id="prepare-filters"):
                with Vertical():
                    yield Label(id="label-province")
                    yield Input(id="prepare-province", max_length=2)
                with Vertical():
                    yield Label(id="label-completed-by")
                    yield Input(id="prepare-completed-by", placeholder="YYYY-MM-DD", max_length=10)
                with Vertical():
                    yield Label(id="label-limit")
                    yield Input(id="prepare-limit", type="integer")
            yield Static(id="prepare-result")
            with Horizontal(id="prepare-buttons"):
                yield Button("", id="prepare-close")
                yield Button("", id="prepare-preview", variant="primary")
                yield Button("", id="prepare-create", variant="warning", disabled=True)

    @staticmethod
    def _kinds() -> list[tuple[str, str]]:
        return [(t(f"payments.kind.{kind.value}"), kind.value) for kind in BatchKind]

    def relabel(self) -> None:
        for selector, key in LABELS.items():
            self.query_one(selector, Label).update(t(key))
        for selector, key in BUTTONS.items():
            self.query_one(selector, Button).label = t(key)
        set_options_keeping_value(self.query_one("#prepare-kind", Select), self._kinds())
        if self._choices is not None:
            self.show_choices(self._choices)
        self._forget_preview()

    def on_mount(self) -> None:
        self.relabel()
        self._show_scope(BatchKind.TRAINING_FEE)
        self.call(browse.scope_choices, then=self.show_choices)
        self.query_one("#prepare-kind", Select).focus()

    def show_choices(self, choices: browse.ScopeChoices) -> None:
        self._choices = choices
        self._platforms = dict(choices.platforms)
        set_options_keeping_value(
            self.query_one("#prepare-platform", Select), [(name, code) for code, name in choices.platforms]
        )
        set_options_keeping_value(
            self.query_one("#prepare-wave", Select),
            [(t("payments.prepare.wave_option", number=number, year=year), number) for number, year in choices.waves],
        )
        set_options_keeping_value(self.query_one("#prepare-payer", Select), [(payer, payer) for payer in choices.payers])

    def _show_scope(self, kind: str) -> None:
        self.query_one("#fee-scope").display = kind == BatchKind.TRAINING_FEE
        self.query_one("#incentive-scope").display = kind == BatchKind.INCENTIVE

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "prepare-kind":
            self._show_scope(str(event.value))
        self._forget_preview()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self._forget_preview()

    def _forget_preview(self) -> None:
        """Whatever changes after a preview must be previewed again before creating."""
        self.summary = None
        self._previewed = None
        self.query_one("#prepare-create", Button).disabled = True
        self.query_one("#prepare-result", Static).update(t("payments.prepare.none"))

    # --- reading the form ----------------------------------------------------------------------

    def _value(self, selector: str):
        value = self.query_one(selector, Select).value
        return None if value in (Select.BLANK, Select.NULL) else value

    def _form(self) -> tuple[Scope, CandidateFilter] | None:
        result = self.query_one("#prepare-result", Static)
        kind = self._value("#prepare-kind")
        if kind == BatchKind.TRAINING_FEE:
            platform = self._value("#prepare-platform")
            if platform is None:
                result.update(t("payments.prepare.choose_platform"))
                return None
            scope = Scope.fees(platform)
        else:
            wave, payer = self._value("#prepare-wave"), self._value("#prepare-payer")
            if wave is None or payer is None:
                result.update(t("payments.prepare.choose_wave"))
                return None
            scope = Scope.incentives(int(wave), payer)
        completed_text = self.query_one("#prepare-completed-by", Input).value.strip()
        limit_text = self.query_one("#prepare-limit", Input).value.strip()
        try:
            completed_by = dt.date.fromisoformat(completed_text) if completed_text else None
        except ValueError:
            result.update(t("payments.prepare.bad_date", value=completed_text))
            return None
        filters = CandidateFilter(
            province_code=self.query_one("#prepare-province", Input).value.strip(),
            completed_by=completed_by,
            limit=int(limit_text) if limit_text else None,
        )
        return scope, filters

    # --- preview and create --------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "prepare-close":
            self.dismiss(None)
        elif event.button.id == "prepare-preview":
            self.action_preview()
        elif event.button.id == "prepare-create":
            self.action_create()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_preview(self) -> None:
        form = self._form()
        if form is None:
            return
        self.query_one("#prepare-result", Static).update(t("payments.prepare.counting"))
        self.call(batches.preview_candidates, *form, then=lambda summary: self.show_summary(form, summary))

    def show_summary(self, form: tuple[Scope, CandidateFilter], summary: CandidateSummary) -> None:
        self.summary, self._previewed = summary, form
        text = t("payments.prepare.candidates", count=group_digits(summary.count), total=rupiah(summary.total_idr),
                 words=in_words(summary.total_idr))
        scope = form[0]
        if scope.kind == BatchKind.TRAINING_FEE:
            platform = self._platforms.get(scope.platform_code, scope.platform_code)
            if summary.payee_missing:
                text += "\n" + t("payment.platform_account_needed", platform=platform)
            elif summary.count:
                text += "\n" + fee_split(platform, summary.total_idr, summary.commission_idr)
        if summary.held:
            text += "\n" + t("payments.prepare.held", count=group_digits(summary.held))
        self.query_one("#prepare-result", Static).update(text)
        create = self.query_one("#prepare-create", Button)
        create.disabled = summary.count == 0
        if summary.count:
            create.focus()

    def action_create(self) -> None:
        if self.summary is None or self._previewed is None:
            return
        scope, filters = self._previewed
        summary = self.summary
        scope_text = (
            self._platforms.get(scope.platform_code, scope.platform_code)
            if scope.kind == BatchKind.TRAINING_FEE
            else t("payments.scope.incentive", wave=scope.wave_number, payer=scope.payer)
        )
        body = t(
            "payments.confirm.prepare.body", kind=t(f"payments.kind.{scope.kind}"), scope=scope_text,
            count=group_digits(summary.count), total=rupiah(summary.total_idr), words=in_words(summary.total_idr),
        )

        def go(yes: bool | None) -> None:
            if yes:
                self.query_one("#prepare-result", Static).update(t("payments.prepare.creating"))
                self.call(batches.prepare_batch, scope, filters, then=self.dismiss,
                          busy=self.query_one("#prepare-create", Button))

        self.app.push_screen(ConfirmScreen(t("payments.confirm.prepare.title"), body), go)

