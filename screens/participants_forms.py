"""Small modals of the participants area: a form of a few fields, the course picker, and the
screen that runs a long job (import, bulk assignment) with a progress bar and can stop it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, ProgressBar

from store.errors import InvalidInput, MitraError, Stopped
from store.services import enrollments
from tui.i18n import t
from tui.money import rupiah
from tui.widgets.checkbox import PlainCheckbox
from tui.widgets.footer import TranslatedFooter
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.refusal import show_refusal
from tui.widgets.search_input import SearchInput
from tui.workers import Job, ServiceCaller

MODAL_CSS = """
    align: center middle;
    & > Vertical {
        width: 90; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1 2;
    }
    & .modal-title { text-style: bold; margin-bottom: 1; }
    & .modal-hint { color: $text-muted; margin-top: 1; }
"""


def parse_date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("input.date", field=field, value=value) from None


def parse_int(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidInput("input.integer", field=field, value=value) from None



@dataclass(frozen=True)
class Field:
    key: str
    label: str  # catalog key
    value: str = ""
    checkbox: bool = False


class FormScreen(ServiceCaller, ModalScreen[Any]):
    """Labelled fields; Enter moves to the next field and submits on the last; Escape cancels.

    Without `run`, dismisses with {key: value} (str, or bool for a checkbox), or None. With
    `run(values) -> job`, runs the job and dismisses with its result only when the store accepts
    it; a refusal (or a bad value) stays in the form, beside the fields, with everything typed."""

    DEFAULT_CSS = (
        "FormScreen {" + MODAL_CSS + "} FormScreen Input { margin-bottom: 1; }"
        " FormScreen .form-row { height: 1; margin-bottom: 1; } FormScreen .form-row Label { width: 34; }"
        " FormScreen .form-row Input { width: 1fr; margin: 0; }"
        " FormScreen #form-error { color: $error; height: auto; }"
        # The fields scroll; the title, the error and the hint stay (at 24 rows too).
        " FormScreen > Vertical { max-height: 100%; } FormScreen #form-fields { height: 1fr; max-height: 30; }"
    )
    BINDINGS = [
        Binding("escape", "cancel", "participants.key.cancel", id="mitra.participants.form.cancel"),
        Binding("ctrl+s", "submit", "participants.key.submit", id="mitra.participants.form.submit"),
    ]

    COMPACT_FROM = 5  # fields: from this many on, one line each (label beside a compact input)

    def __init__(self, title: str, fields: list[Field], hint: str = "", *,
                 run: Callable[[dict[str, Any]], Job] | None = None) -> None:
        super().__init__()
        self._title, self._fields, self._hint, self._run = title, fields, hint, run

    def compose(self) -> ComposeResult:
        compact = len(self._fields) >= self.COMPACT_FROM
        with Vertical():
            yield Label(self._title, classes="modal-title")
            fields = VerticalScroll(id="form-fields")
            fields.can_focus = False  # the first field takes the keyboard, not its container
            with fields:
                for field in self._fields:
                    if field.checkbox:
                        yield PlainCheckbox(t(field.label), field.value == "yes", id=f"form-{field.key}")
                    elif compact:
                        with Horizontal(classes="form-row"):
                            yield Label(t(field.label))
                            yield Input(field.value, id=f"form-{field.key}", compact=True)
                    else:
                        yield Label(t(field.label))
                        yield Input(field.value, id=f"form-{field.key}")
            yield Static("", id="form-error", classes="form-error")
            yield Static(self._hint or t("participants.form.hint"), classes="modal-hint")
        yield TranslatedFooter()  # ctrl+s submits from any field

    def values(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for field in self._fields:
            if field.checkbox:
                result[field.key] = self.query_one(f"#form-{field.key}", PlainCheckbox).value
            else:
                result[field.key] = self.query_one(f"#form-{field.key}", Input).value.strip()
        return result

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        position = inputs.index(event.input)
        if position + 1 < len(inputs):
            inputs[position + 1].focus()
        else:
            self.action_submit()

    def action_submit(self) -> None:
        if self._run is None:
            self.dismiss(self.values())
            return
        try:
            job = self._run(self.values())
        except MitraError as error:  # a value the form itself could not read
            self.refused(error)
            return
        self.query_one("#form-error", Static).update(t("providers.saving"))
        # A service that returns nothing still closes the form as done (None means cancelled).
        self.call(job, then=lambda result: self.dismiss(True if result is None else result), on_error=self.refused,
                  group="form")

    def refused(self, error: MitraError) -> None:
        show_refusal(self, error, "form-")

    def action_cancel(self) -> None:
        self.dismiss(None)


Result = TypeVar("Result")


def unless_cancelled(then: Callable[[Result], object]) -> Callable[[Result | None], None]:
    """A form's callback: `then` gets what the form gave back; a cancelled form (None) does nothing."""

    def answered(result: Result | None) -> None:
        if result is not None:
            then(result)

    return answered


def _listing_row(listing: enrollments.ListingChoice) -> tuple[str, list[str]]:
    return str(listing.listing_id), [
        listing.title, listing.provider_name, listing.platform_name, str(listing.hours), rupiah(listing.price_idr),
    ]


class ListingPickerScreen(ModalScreen[enrollments.ListingChoice | None]):
    """Choose a course listing open to purchases: it opens in the search box (type a title, the
    list follows), Down goes to the list, Enter there picks."""

    DEFAULT_CSS = (
        "ListingPickerScreen {" + MODAL_CSS + "} ListingPickerScreen > Vertical { width: 120; height: 80%; }"
    )
    BINDINGS = [
        Binding("escape", "cancel", "participants.key.cancel", id="mitra.participants.pick.cancel"),
        Binding("slash", "search", "keys.filter", id="mitra.participants.pick.search"),
    ]

    def __init__(self, title: str) -> None:
        super().__init__()
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="modal-title")
            yield SearchInput(placeholder=t("participants.pick.search"), id="pick-search", results="pick-listings")
            yield PagedTable(
                [("title", "participants.col.course"), ("provider", "participants.col.provider"),
                 ("platform", "participants.col.platform"), ("hours", "participants.col.hours"),
                 ("price", "participants.col.price")],
                _listing_row, id="pick-listings",
                # At 80 columns: title, platform, hours and price; the provider from 100 columns.
                hide_below={"provider": 100}, gives_way="title",
            )

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#pick-search", Input).focus()

    def reload(self) -> None:
        search = self.query_one("#pick-search", Input).value

        async def fetch(db, actor, cursor, limit):
            return await enrollments.open_listings(db, actor, search, cursor, limit)

        self.query_one(PagedTable).load(fetch)

    def on_search_input_search(self, event: SearchInput.Search) -> None:
        event.stop()
        self.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(self.query_one(PagedTable).selected_row())

    def action_search(self) -> None:
        self.query_one("#pick-search", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)


class JobProgress(Message):
    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total


class JobScreen(ServiceCaller, ModalScreen[Any]):
    """Runs `service(db, actor, *args, progress=..., should_stop=...)` with a progress bar.

    `s` asks the job to stop between batches (what is done stays done); when it has finished,
    `describe(result)` fills the summary and `rows(result)` the table below it. Escape closes.
    """

    DEFAULT_CSS = (
        "JobScreen {" + MODAL_CSS + "} JobScreen > Vertical { width: 110; }"
        " JobScreen DataTable { height: auto; max-height: 16; margin-top: 1; }"
    )
    BINDINGS = [
        Binding("s", "stop", "participants.key.stop", id="mitra.participants.job.stop"),
        Binding("escape", "close", "keys.close", id="mitra.participants.job.close"),
    ]

    def __init__(
        self,
        title: str,
        service: Callable,
        args: tuple,
        describe: Callable[[Any], str],
        rows: Callable[[Any], tuple[list[str], list[list[str]]]],
        *,
        stoppable: bool = True,
    ) -> None:
        super().__init__()
        self._title, self._service, self._args = title, service, args
        self._describe, self._rows, self._stoppable = describe, rows, stoppable
        self._stop_requested = False
        self.result: Any = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="modal-title")
            yield ProgressBar(id="job-progress", show_eta=False)
            yield Static(t("participants.job.starting"), id="job-status")
            yield DataTable(id="job-table", cursor_type="row")
            yield Static(t("participants.job.hint" if self._stoppable else "participants.job.hint_unstoppable"),
                         classes="modal-hint", id="job-hint")

    def on_mount(self) -> None:
        self.query_one("#job-table", DataTable).display = False
        self.running = True
        self.call(
            self._service, *self._args, progress=self._progress, should_stop=lambda: self._stop_requested,
            then=self._finished, on_error=self._failed, group="job",
        )

    def _progress(self, done: int, total: int) -> None:
        self.post_message(JobProgress(done, total))  # called from the job: widgets change in the handler

    def on_job_progress(self, message: JobProgress) -> None:
        bar = self.query_one("#job-progress", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#job-status", Static).update(t("participants.job.progress", done=message.done, total=message.total))

    def _finished(self, result: Any) -> None:
        self.running = False
        self.result = result
        self.query_one("#job-status", Static).update(self._describe(result))
        columns, rows = self._rows(result)
        table = self.query_one("#job-table", DataTable)
        if rows:
            table.display = True
            for column in columns:
                table.add_column(column)
            for row in rows:
                table.add_row(*row)
        self.query_one("#job-hint", Static).update(t("participants.job.done_hint"))

    def _failed(self, error: MitraError) -> None:
        self.running = False
        self.app.show_error(error)
        stopped = isinstance(error, Stopped)  # as the operator asked, not by an error
        self.query_one("#job-status", Static).update(t("participants.job.stopped" if stopped else "participants.job.failed"))
        self.query_one("#job-hint", Static).update(t("participants.job.done_hint"))

    def action_stop(self) -> None:
        if self.running and self._stoppable:
            self._stop_requested = True
            self.query_one("#job-status", Static).update(t("participants.job.stopping"))

    def action_close(self) -> None:
        if self.running:
            self.action_stop()
            return
        self.dismiss(self.result)
