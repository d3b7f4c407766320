"""One platform: its agreement and status, and the calendar of its ten obligations per period.

The calendar has one row per obligation and one column per period (the latest six; `[` and `]`
page to earlier and later ones). Each cell says whether that report came on time, late, is
overdue or not yet due; `s` (or Enter) records the submission of the selected report. The
"disburse training fees" report states the amount the platform says it passed on to providers;
picking it shows the store's check: the fees the PMO paid the platform in that period (gross), its
commission, the nets it owes on to providers, and the difference from what it reported.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input

from store.errors import MitraError
from store.models import ObligationKind
from store.services import obligations, platforms
from store.services.obligations import Calendar, ObligationStatus, ObligationView
from store.services.platforms import PlatformDetail
from tui.i18n import t
from tui.money import percent, rupiah
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.prompt import PromptScreen
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

PERIODS_SHOWN = 6
KINDS = list(ObligationKind)
STATUS_STYLE = {
    ObligationStatus.ON_TIME: "green",
    ObligationStatus.LATE: "yellow",
    ObligationStatus.OVERDUE: "bold red",
    ObligationStatus.OPEN: "dim",
}


def cell(item: ObligationView | None) -> Text:
    if item is None:
        return Text("")
    day = item.submitted_on if item.submitted_on else item.due_on
    return Text(t("obligations.cell." + item.status, date=day.strftime("%d-%m")), style=STATUS_STYLE[item.status])


def item_text(item: ObligationView) -> str:
    text = t(
        "obligations.item_line", kind=t("obligations.kind." + item.kind), start=item.period_start.isoformat(),
        end=item.period_end.isoformat(), due=item.due_on.isoformat(), status=t("obligations.status." + item.status),
    )
    if item.submitted_on:
        text += "\n" + t("obligations.submitted_line", date=item.submitted_on.isoformat(), who=item.submitted_by,
                         reference=item.reference)
    if item.reported_idr is not None:
        text += "\n" + t("obligations.reported_line", amount=rupiah(item.reported_idr))
    return text


def fee_check_text(check: obligations.FeeDisbursementCheck) -> str:
    """The store's check of a fee disbursement report: paid to the platform, owed on, reported."""
    lines = [t("obligations.fee_check.owed", lines=check.lines, gross=rupiah(check.gross_idr),
               commission=rupiah(check.commission_idr), owed=rupiah(check.owed_idr))]
    if check.reported_idr is None:
        lines.append(t("obligations.fee_check.unreported"))
    elif check.agrees:
        lines.append(t("obligations.fee_check.agrees", reported=rupiah(check.reported_idr)))
    else:
        difference = check.difference_idr or 0
        key = "obligations.fee_check.short" if difference < 0 else "obligations.fee_check.over"
        lines.append(t(key, reported=rupiah(check.reported_idr), difference=rupiah(abs(difference))))
    for provider in check.by_provider[:3]:
        lines.append(t("obligations.fee_check.provider", provider=provider.provider, net=rupiah(provider.net_idr)))
    if len(check.by_provider) > 3:
        lines.append(t("obligations.fee_check.more", count=len(check.by_provider) - 3))
    return "\n".join(lines)


class SubmissionPrompt(PromptScreen):
    """The date a report arrived (default today) and its reference, and for the fee disbursement
    report the amount it states; dismisses with (date, reference, amount or None) or None."""

    def __init__(self, title: str, body: str, *, ask_amount: bool = False) -> None:
        super().__init__(title)
        self._body = body
        self._ask_amount = ask_amount

    def compose(self) -> ComposeResult:
        with Vertical():
            yield self.title_label()
            yield Static(self._body)
            yield Label(t("field.submitted_on"))
            yield Input(value=dt.date.today().isoformat(), id="submission-date")
            yield Label(t("field.reference"))
            yield Input(id="submission-reference", placeholder=t("obligations.reference_placeholder"))
            if self._ask_amount:
                yield Label(t("field.reported_idr"))
                yield Input(id="submission-amount", placeholder=t("obligations.amount_placeholder"))
            yield from self.footer_lines()

    def on_mount(self) -> None:
        self.query_one("#submission-reference", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "submission-date":
            self.query_one("#submission-reference", Input).focus()
            return
        reference = self.query_one("#submission-reference", Input).value.strip()
        if event.input.id == "submission-reference" and self._ask_amount:
            self.query_one("#submission-amount", Input).focus()
            return
        if not reference:
            self.query_one("#submission-reference", Input).focus()
            self.show_error(t("prompt.required"))
            return
        amount = None
        if self._ask_amount:
            amount = self.query_one("#submission-amount", Input).value.strip()
            if not amount:
                self.show_error(t("prompt.required"))
                return
        self.dismiss((self.query_one("#submission-date", Input).value.strip(), reference, amount))


class PlatformScreen(ServiceCaller, Screen):
    DEFAULT_CSS = """
    PlatformScreen #platform-title { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    PlatformScreen #platform-data { height: auto; padding: 0 1; border: round $primary; }
    PlatformScreen #calendar-title { height: 1; padding: 0 1; margin-top: 1; }
    PlatformScreen #calendar { height: auto; max-height: 14; }
    PlatformScreen #obligation-detail { height: auto; padding: 0 1; border: round $secondary; }
    """
    BINDINGS = [
        Binding("escape", "back", "keys.back", id="mitra.platform.back"),
        Binding("s", "record", "keys.platforms.record", id="mitra.platform.record"),
        Binding("left_square_bracket", "page(-1)", "keys.platforms.earlier", id="mitra.platform.earlier"),
        Binding("right_square_bracket", "page(1)", "keys.platforms.later", id="mitra.platform.later"),
        Binding("r", "refresh", "keys.refresh", id="mitra.platform.refresh"),
    ]

    def __init__(self, platform_id: int) -> None:
        super().__init__()
        self.platform_id = platform_id
        self.detail: PlatformDetail | None = None
        self.calendar: Calendar | None = None
        self.until: dt.date | None = None  # the last period start shown; None: the latest
        self.fee_check: obligations.FeeDisbursementCheck | None = None  # of the selected fee report

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="platform-title")
        yield Static("", id="platform-data")
        yield Static("", id="calendar-title")
        # The obligation of each row stays in view while the cursor moves to the newest periods.
        yield DataTable(id="calendar", cursor_type="cell", fixed_columns=1)
        yield Static("", id="obligation-detail")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one("#calendar", DataTable).focus()
        self.load()

    def relabel(self) -> None:
        if self.detail is not None:
            self.show(self.detail)
        if self.calendar is not None:
            self.show_calendar(self.calendar)

    def load(self) -> None:
        self.fee_check = None
        self.call(platforms.get_platform, self.platform_id, then=self.show)
        self.call(obligations.calendar, self.platform_id, until=self.until, periods=PERIODS_SHOWN,
                  then=self.show_calendar)

    def action_refresh(self) -> None:
        self.load()

    def show(self, detail: PlatformDetail) -> None:
        self.detail = detail
        row = detail.row
        self.query_one("#platform-title", Static).update(t(
            "platforms.detail_title", name=row.name, code=row.code, status=t("platforms.status." + row.status),
            overdue=row.overdue,
        ))
        lines = [
            t("platforms.detail_legal", legal_name=detail.legal_name or "-", url=detail.portal_url or "-",
              group=detail.ownership_group or "-"),
            t("platforms.detail_agreement", number=row.agreement_number, date=row.agreement_date.isoformat(),
              cap=percent(row.commission_cap_bp)),
        ]
        if detail.application_id:
            lines.append(t("platforms.detail_application", id=detail.application_id))
        if detail.status_reason:
            lines.append(t("platforms.detail_reason", reason=detail.status_reason))
        self.query_one("#platform-data", Static).update("\n".join(lines))

    def show_calendar(self, calendar: Calendar) -> None:
        self.calendar = calendar
        table = self.query_one("#calendar", DataTable)
        coordinate = table.cursor_coordinate
        table.clear(columns=True)
        table.add_column(t("obligations.col.kind"), key="kind")
        for start, _end in calendar.periods:
            table.add_column(start.strftime("%Y-%m"), key=start.isoformat())
        for kind in KINDS:
            table.add_row(
                t("obligations.kind." + kind), *[cell(calendar.item(kind, start)) for start, _ in calendar.periods],
                key=kind.value,
            )
        if calendar.periods:
            table.move_cursor(row=coordinate.row, column=max(1, min(coordinate.column or len(calendar.periods),
                                                                     len(calendar.periods))))
        title = t("obligations.calendar_title") if calendar.periods else t("obligations.none")
        self.query_one("#calendar-title", Static).update(title)
        self._show_item()
        self.refresh_bindings()

    def selected_item(self) -> ObligationView | None:
        calendar = self.calendar
        if calendar is None or not calendar.periods:
            return None
        coordinate = self.query_one("#calendar", DataTable).cursor_coordinate
        if coordinate.column < 1 or coordinate.row >= len(KINDS):
            return None
        start = calendar.periods[min(coordinate.column - 1, len(calendar.periods) - 1)][0]
        return calendar.item(KINDS[coordinate.row], start)

    def _show_item(self) -> None:
        item = self.selected_item()
        text = item_text(item) if item else t("obligations.pick_cell")
        if item is not None and item.kind == ObligationKind.DISBURSE_FEES:
            check = self.fee_check
            if check is not None and check.item_id == item.id and check.reported_idr == item.reported_idr:
                text += "\n" + fee_check_text(check)
            else:
                self.call(obligations.fee_disbursement_check, self.platform_id, item.period_start,
                          then=self._show_fee_check)
        self.query_one("#obligation-detail", Static).update(text)

    def _show_fee_check(self, check: obligations.FeeDisbursementCheck) -> None:
        self.fee_check = check
        item = self.selected_item()
        if item is not None and item.id == check.item_id:
            self.query_one("#obligation-detail", Static).update(item_text(item) + "\n" + fee_check_text(check))

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show_item()
        self.refresh_bindings()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        if self.check_action("record", ()):
            self.action_record()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "record":
            actor = self.app.actor
            if actor is None or not actor.can("obligation.record"):
                return False
            item = self.selected_item()
            return True if item is not None and item.submitted_on is None else None
        if action == "page":
            calendar = self.calendar
            if calendar is None:
                return None
            return (calendar.has_earlier if parameters[0] < 0 else calendar.has_later) or None
        return True

    def action_page(self, direction: int) -> None:
        calendar = self.calendar
        if calendar is None or not calendar.periods:
            return
        if direction < 0 and calendar.has_earlier:
            self.until = calendar.periods[0][0] - dt.timedelta(days=1)
        elif direction > 0 and calendar.has_later:
            following = calendar.periods[-1][1] + dt.timedelta(days=PERIODS_SHOWN * 31)
            self.until = following
        else:
            return
        self.call(obligations.calendar, self.platform_id, until=self.until, periods=PERIODS_SHOWN,
                  then=self.show_calendar)

    def action_record(self) -> None:
        item = self.selected_item()
        if item is None:
            return

        def given(answer: tuple[str, str, str | None] | None) -> None:
            if answer is None:
                return
            day, reference, amount = answer
            self.call(obligations.record_submission, item.id, day, reference, expected_version=item.version,
                      reported_idr=amount, then=lambda _: self.load(), on_error=self._failed)

        fees = item.kind == ObligationKind.DISBURSE_FEES
        self.app.push_screen(SubmissionPrompt(t("obligations.record_title"), item_text(item), ask_amount=fees), given)

    def _failed(self, error: MitraError) -> None:
        self.app.show_error(error)
        self.load()

    def action_back(self) -> None:
        self.dismiss(None)
