"""Reviewing one application: the applicant's data beside the seven criteria, and its history.

A reviewer moves between criteria (up/down, j/k), sets verdicts with single keys, and steps to the
next or previous application of the queue (n/b) without going back to the list. Recommending and
deciding go through a confirmation that states the outcome. Keys the operator's roles do not allow
are not offered; keys the application's state does not allow are shown disabled.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen

from screens.applications_outcome import (
    OutcomePrompt,
    TermsPrompt,
    decision_text,
    recommendation_text,
)
from screens.applications_review_text import (
    applicant_text,
    history_row,
    history_widths,
    outcome_text,
    verdict_label,
)
from screens.console import loaded
from store.criteria import check_outcome, note_required
from store.errors import MitraError, RuleViolation
from store.models import ApplicationState, Recommendation
from store.services import applications
from store.services.application_actions import APPLICATION_RULES, judge_application
from store.services.applications import ApplicationDetail, CriterionView
from tui.dialogs import dialog
from tui.gating import ActionsGate
from tui.i18n import t
from tui.widgets.clipboard import copy_reference
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.fitting import FittedTable
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Static
from tui.widgets.prompt import TextPrompt
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

S = ApplicationState
REVIEW_ACTIONS = {"verdict", "accept", "note"}


# Screen action -> the store's step (store/services/application_actions.py).
STEP_OF = {"accept": "verdict", "note": "verdict"} | {step: step for step in APPLICATION_RULES}
STEP_LABELS = {step: f"keys.review.{step}" for step in APPLICATION_RULES if step != "verdict"}


class ReviewScreen(ActionsGate, ServiceCaller, Screen):
    """One application of a queue; `queue` holds the ids in the order the list showed them."""

    DEFAULT_CSS = """
    ReviewScreen #review-title { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    ReviewScreen #review-body { height: 1fr; }
    ReviewScreen #applicant { width: 45%; border: round $primary; padding: 0 1; }
    ReviewScreen #criteria-side { width: 55%; }
    ReviewScreen #criteria { height: auto; max-height: 11; border: round $primary; }  /* its note gives way: no scrollbar comes and goes */
    ReviewScreen #criterion-help { height: auto; padding: 0 1; border: round $secondary; }
    ReviewScreen #outcome { height: auto; padding: 0 1; color: $warning; }
    ReviewScreen #history { height: 10; border: round $secondary; }
    """
    BINDINGS = [
        Binding("escape", "back", "keys.back", id="mitra.review.back"),
        Binding("j", "move(1)", "", show=False, id="mitra.review.down"),
        Binding("k", "move(-1)", "", show=False, id="mitra.review.up"),
        Binding("y", "copy_reference", "keys.copy_reference", show=False, id="mitra.review.copy"),
        Binding("p", "verdict('pass')", "keys.review.pass", id="mitra.review.pass"),
        Binding("f", "verdict('fail')", "keys.review.fail", id="mitra.review.fail"),
        Binding("i", "verdict('needs_info')", "keys.review.needs_info", id="mitra.review.needs_info"),
        Binding("u", "verdict('unchecked')", "keys.review.unchecked", show=False, id="mitra.review.unchecked"),
        Binding("a", "accept", "keys.review.accept", id="mitra.review.accept"),
        Binding("e", "note", "keys.review.note", id="mitra.review.note"),
        Binding("m", "request_info", "keys.review.request_info", id="mitra.review.request_info"),
        Binding("t", "answer", "keys.review.answer", id="mitra.review.answer"),
        Binding("r", "recommend", "keys.review.recommend", id="mitra.review.recommend"),
        Binding("d", "decide", "keys.review.decide", id="mitra.review.decide"),
        Binding("s", "send_back", "keys.review.send_back", id="mitra.review.send_back"),
        Binding("n", "step(1)", "keys.review.next_application", id="mitra.review.next"),
        Binding("b", "step(-1)", "keys.review.previous_application", id="mitra.review.previous"),
    ]

    def __init__(self, queue: list[int], index: int = 0) -> None:
        super().__init__()
        self.queue = list(queue)
        self.index = index
        self.detail: ApplicationDetail | None = None

    def action_copy_reference(self) -> None:
        copy_reference(self.app, str(self.queue[self.index]) if self.queue else None)

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="review-title")
        with Horizontal(id="review-body"):
            with VerticalScroll(id="applicant"):
                yield Static("", id="applicant-data")
            with Vertical(id="criteria-side"):
                yield FittedTable(id="criteria", cursor_type="row", gives_way="note")
                yield Static("", id="criterion-help")
                yield Static("", id="outcome")
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self._columns()
        self.query_one("#criteria", DataTable).focus()
        self.load()

    def on_resize(self, event: events.Resize) -> None:
        # On 36 rows and more the history's height is fixed: the panels above keep their places from
        # one application to the next, and a field link is sent only the values that changed. On 24
        # a long history would leave the selected criterion's rule no room, and a short one gives
        # its rows to it.
        history = self.query_one("#history")
        if event.size.height >= 36:
            history.styles.height, history.styles.max_height = 10, None
        else:
            history.styles.height, history.styles.max_height = "auto", max(4, event.size.height // 4)

    def _columns(self) -> None:
        criteria = self.query_one("#criteria", DataTable)
        criteria.clear(columns=True)
        # The columns that matter first: at 80 columns the long criterion names are what gets cut.
        for key in ("number", "verdict", "suggested", "criterion", "note"):
            criteria.add_column(t("applications.col." + key), key=key)
        history = self.query_one("#history", DataTable)
        history.clear(columns=True)
        # Fixed widths: the next application's history (another approver, longer event names) must
        # not move every column, which would send the whole panel down a field link again.
        for key, width in zip(("at", "operator", "event", "details"), history_widths()):
            history.add_column(t("applications.col." + key), key=key, width=width)

    def relabel(self) -> None:
        self._columns()
        if self.detail is not None:
            self.show(self.detail)
        self.call(applications.application_history, self.current_id, then=self.show_history)

    @property
    def current_id(self) -> int:
        return self.queue[self.index]

    # --- loading --------------------------------------------------------------------------

    def load(self) -> None:
        # The application and its history in one worker, shown in one frame: over a field link
        # each repaint of the screen is about 10 KB (bench/field_link.py).
        self.call(_application_and_history, self.current_id, then=self._show_both)

    def _show_both(self, loaded) -> None:
        detail, events = loaded
        with self.app.batch_update():
            self.show(detail)
            self.show_history(events)

    def _failed(self, error: MitraError) -> None:
        """Show the refusal and reload: the application may have changed meanwhile."""
        self.app.show_error(error)
        self.load()

    def show(self, detail: ApplicationDetail) -> None:
        moved = self.detail is None or self.detail.id != detail.id
        self.detail = detail
        self.query_one("#review-title", Static).update(t(
            "applications.review_title", id=detail.id, name=detail.brand_name,
            state=t("applications.state." + detail.state), position=self.index + 1, total=len(self.queue),
        ))
        self.query_one("#applicant-data", Static).update(applicant_text(detail))
        table = self.query_one("#criteria", FittedTable)
        row = 0 if moved else table.cursor_row
        table.clear()
        for criterion in detail.criteria:
            table.add_row(
                str(criterion.number), verdict_label(criterion.verdict) + (" *" if criterion.overridden else ""),
                verdict_label(criterion.suggested), t(f"criterion.name.{criterion.number}"), criterion.note,
                key=str(criterion.number),
            )
        table.move_cursor(row=row)
        table.fit()
        self._show_criterion()
        self.judged = judge_application(self.operator, detail.state, detail.verdicts(), detail.recommended_by_id)
        self.store_actions = self.judged.actions
        held = self.held_back_text(STEP_LABELS)
        self.query_one("#outcome", Static).update(outcome_text(detail) + (f"\n{held}" if held else ""))
        self.refresh_bindings()

    def show_history(self, events) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        # Newest first, as the provider's history: the latest step shows without scrolling, so the
        # table is drawn once, not at its top and again at its end.
        for event in reversed(events):
            table.add_row(*history_row(event, self.current_id), key=str(event.id))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "criteria":
            self._show_criterion()
            self.refresh_bindings()  # "accept suggestion" depends on the criterion

    def _selected(self) -> CriterionView | None:
        if self.detail is None:
            return None
        row = self.query_one("#criteria", DataTable).cursor_row
        return self.detail.criteria[row] if 0 <= row < len(self.detail.criteria) else None

    def _show_criterion(self) -> None:
        criterion = self._selected()
        if criterion is None:
            return
        lines = [Text(f"{criterion.number}. {t(f'criterion.name.{criterion.number}')}", style="bold"),
                 Text(t(f"criterion.help.{criterion.number}"))]
        if criterion.note:
            lines.append(Text(t("applications.note_line", note=criterion.note)))
        if criterion.set_by and criterion.set_at is not None:
            lines.append(Text(t("applications.set_by", who=criterion.set_by, at=criterion.set_at.strftime("%Y-%m-%d %H:%M"))))
        self.query_one("#criterion-help", Static).update(Text("\n").join(lines))

    # --- which keys are offered -------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "step":
            return 0 <= self.index + parameters[0] < len(self.queue) or None
        step = STEP_OF.get(action)
        if step is None:
            return True
        offered = self.gate(step)
        if offered and action == "accept":
            criterion = self._selected()
            return True if criterion is not None and criterion.suggested is not None else None
        return offered

    # --- criteria ---------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        table = self.query_one("#criteria", DataTable)
        table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    def _set(self, criterion: CriterionView, verdict: str, note: str) -> None:
        detail = loaded(self.detail)

        def done(updated: ApplicationDetail) -> None:
            self.show(updated)
            self.action_move(1)  # on to the next criterion
            self.call(applications.application_history, updated.id, then=self.show_history)

        self.call(
            applications.set_verdict, detail.id, criterion.number, verdict, note,
            expected_version=detail.version, then=done, on_error=self._failed,
        )

    def action_verdict(self, verdict: str) -> None:
        criterion = self._selected()
        if criterion is None:
            return
        if note_required(verdict, criterion.suggested):
            self._verdict_with_note(criterion, verdict)
        else:
            self._set(criterion, verdict, criterion.note)

    @dialog
    async def _verdict_with_note(self, criterion: CriterionView, verdict: str) -> None:
        note = await self._answer(
            t("applications.note_title", number=criterion.number, verdict=t("applications.verdict." + verdict)),
            t(f"criterion.name.{criterion.number}"), criterion.note,
        )
        if note is not None:
            self._set(criterion, verdict, note)

    def action_accept(self) -> None:
        criterion = self._selected()
        if criterion is not None and criterion.suggested:
            self.action_verdict(criterion.suggested)

    @dialog
    async def action_note(self) -> None:
        criterion = self._selected()
        if criterion is None:
            return
        note = await self._answer(t("applications.note_edit_title", number=criterion.number),
                                  t(f"criterion.name.{criterion.number}"), criterion.note, required=False)
        if note is not None:
            self._set(criterion, criterion.verdict, note)

    async def _answer(self, title: str, body: str, initial: str = "", *, required: bool = True) -> str | None:
        return await self.app.push_screen_wait(TextPrompt(title, body, initial=initial, required=required))

    # --- transitions ------------------------------------------------------------------------

    def _change(self, service, *args, **kwargs) -> None:
        detail = loaded(self.detail)
        self.call(service, detail.id, *args, expected_version=detail.version, then=self._changed,
                  on_error=self._failed, **kwargs)

    def _changed(self, detail: ApplicationDetail) -> None:
        self.show(detail)
        self.call(applications.application_history, detail.id, then=self.show_history)

    async def _with_note(self, title: str, body: str, service) -> None:
        note = await self._answer(t(title), t(body))
        if note is not None:
            self._change(service, note)

    @dialog
    async def action_request_info(self) -> None:
        await self._with_note("applications.request_info_title", "applications.request_info_body",
                              applications.request_information)

    @dialog
    async def action_answer(self) -> None:
        await self._with_note("applications.answer_title", "applications.answer_body", applications.record_answer)

    @dialog
    async def action_send_back(self) -> None:
        await self._with_note("applications.send_back_title", "applications.send_back_body", applications.send_back)

    @dialog
    async def action_recommend(self) -> None:
        detail = loaded(self.detail)
        title = t("applications.recommend_title", name=detail.brand_name)
        choice = await self.app.push_screen_wait(
            OutcomePrompt(title, suggested_outcome(detail), detail.reject_reason, refusals=self.judged.outcomes))
        if choice is None:
            return
        if await self.app.push_screen_wait(ConfirmScreen(title, recommendation_text(detail, choice),
                                                         yes_label=t("applications.recommend_yes"))):
            self._change(applications.recommend, choice.outcome, choice.note, reject_reason=choice.reason)

    @dialog
    async def action_decide(self) -> None:
        """The outcome, then (an approval creates a platform) the signed agreement's terms, then the
        confirmation; terms the store refuses (a code already taken, a cap above the maximum ...)
        come back as typed, with the reason beside them."""
        detail = loaded(self.detail)
        choice = await self.app.push_screen_wait(OutcomePrompt(
            t("applications.decide_title", name=detail.brand_name), detail.recommendation or Recommendation.REJECT,
            detail.reject_reason, refusals=self.judged.outcomes))
        if choice is None:
            return
        try:
            preview = await self.ask(applications.decision_preview, detail.id, choice.outcome)
        except MitraError as error:
            self._failed(error)
            return
        refused: MitraError | None = None
        while True:
            if preview.terms is not None:
                terms = await self.app.push_screen_wait(
                    TermsPrompt(t("applications.terms_title", name=preview.brand_name), preview.terms, refused))
                if terms is None:
                    return
                preview = replace(preview, terms=terms)
            if not await self.app.push_screen_wait(ConfirmScreen(
                    t("applications.decide_title", name=preview.brand_name), decision_text(preview, choice),
                    yes_label=t("applications.decide_yes"))):
                return
            try:
                decided = await self.ask(
                    applications.decide, preview.application_id, choice.outcome, choice.note,
                    expected_version=preview.version, reject_reason=choice.reason, terms=preview.terms)
            except MitraError as error:
                if preview.terms is not None and (error.key.startswith("platforms.")
                                                  or error.params.get("field") in TermsPrompt.FIELDS):
                    refused = error
                    continue
                self._failed(error)
                return
            self._changed(decided)
            return

    # --- moving around ----------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        if 0 <= self.index + step < len(self.queue):
            self.index += step
            # Nothing is offered until the next one is loaded: its own state says what may be done.
            self.detail = None
            self.store_actions = None
            self.refresh_bindings()
            self.load()

    def action_back(self) -> None:
        self.dismiss(None)


async def _application_and_history(db, actor, application_id: int):
    return (await applications.get_application(db, actor, application_id),
            await applications.application_history(db, actor, application_id))


def suggested_outcome(detail: ApplicationDetail) -> str:
    """The outcome the verdicts allow, preselected when recommending (the store's own rule)."""
    for outcome in (Recommendation.APPROVE, Recommendation.RECLASSIFY):
        try:
            check_outcome(outcome, detail.verdicts())
        except RuleViolation:
            continue
        return outcome
    return Recommendation.REJECT
