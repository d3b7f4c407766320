"""The Waves view: each wave's scheme, deadline and funnel (registered, selected, purchased,
completed, revoked), with selection, the rejections' reasons, and the deadline sweep."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen

from screens.participants_forms import Field, FormScreen, JobScreen, parse_date, parse_int, unless_cancelled
from store.errors import InvalidInput
from store.services import selection, waves
from store.services.waves import Funnel, WaveView
from store.validators import positive_money
from tui.charts import bars
from tui.dialogs import dialog
from tui.gating import PermissionGate
from tui.wave_results import selection_said
from tui.i18n import t
from tui.money import group_digits, in_words, rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Label, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller, job

COLUMNS = ("wave", "state", "quota", "balance", "deadline", "registered", "selected", "purchased", "completed", "revoked")


class WavesScreen(PermissionGate, ServiceCaller, Screen[bool]):
    DEFAULT_CSS = """
    WavesScreen Vertical { padding: 0 1; }
    WavesScreen #waves-title { text-style: bold; margin: 1 0; }
    WavesScreen #waves-table { height: auto; max-height: 20; }
    WavesScreen #wave-detail { margin-top: 1; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "back", "participants.key.back", id="mitra.waves.back"),
        Binding("n", "new_wave", "participants.key.new_wave", id="mitra.waves.new"),
        Binding("e", "edit_wave", "participants.key.edit_wave", id="mitra.waves.edit"),
        Binding("q", "quotas", "participants.key.quotas", id="mitra.waves.quotas"),
        Binding("o", "advance", "participants.key.advance", id="mitra.waves.advance"),
        Binding("s", "select", "participants.key.select", id="mitra.waves.select"),
        Binding("d", "sweep", "participants.key.sweep", id="mitra.waves.sweep"),
        Binding("j", "rejections", "participants.key.rejections", id="mitra.waves.rejections"),
        Binding("r", "refresh", "keys.refresh", id="mitra.waves.refresh"),
        Binding("ctrl+e", "export", "keys.export", id="mitra.waves.export"),
    ]
    ACTION_PERMISSIONS = {
        "select": "wave.select", "sweep": "wave.sweep", "new_wave": "wave.manage", "edit_wave": "wave.manage",
        "quotas": "wave.manage", "advance": "wave.manage",
    }

    def __init__(self) -> None:
        super().__init__()
        self.waves: list[WaveView] = []

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Vertical():
            yield Label("", id="waves-title")
            yield DataTable(id="waves-table", cursor_type="row")
            yield Static("", id="wave-detail")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#waves-title", Label).update(t("participants.waves.title"))
        table = self.query_one("#waves-table", DataTable)
        table.clear(columns=True)
        for key in COLUMNS:
            table.add_column(t(f"participants.waves.col.{key}"), key=key)
        self.action_refresh()

    def action_refresh(self) -> None:
        self.call(waves.list_waves, then=self.show)

    def show(self, found: list[WaveView]) -> None:
        self.waves = found
        table = self.query_one("#waves-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for wave in found:
            funnel = funnel_of(wave)
            table.add_row(
                f"{wave.number} ({wave.year})", t(f"wave.state.{wave.state}"), group_digits(wave.quota),
                rupiah(wave.training_balance_idr), wave.deadline.isoformat(),
                *(group_digits(count) for count in (
                    funnel.registered, funnel.selected, funnel.purchased, funnel.completed, funnel.revoked,
                )),
                key=str(wave.number),
            )
        if found:
            table.move_cursor(row=min(max(cursor, 0), len(found) - 1))
        self._describe()

    def action_export(self) -> None:
        """Every wave and its funnel as a file; in an XLSX, the funnel drawn beside the rows."""
        from store.exports import Chart
        from store.paging import Page
        from tui.widgets.export import ExportScreen

        async def fetch(db, actor, _cursor, _limit):
            return Page(await waves.list_waves(db, actor))  # a handful of rows: one page

        def cells(wave: WaveView) -> tuple[str, list]:
            funnel = funnel_of(wave)
            return str(wave.number), [
                f"{wave.number} ({wave.year})", t(f"wave.state.{wave.state}"), wave.quota, wave.training_balance_idr,
                wave.deadline.isoformat(), funnel.registered, funnel.selected, funnel.purchased, funnel.completed,
                funnel.revoked,
            ]

        funnel = Chart(t("participants.waves.funnel"), categories=0, series=tuple(range(5, len(COLUMNS))))
        header = [t(f"participants.waves.col.{key}") for key in COLUMNS]
        self.app.push_screen(ExportScreen("waves", header, fetch, cells, chart=funnel))

    def current(self) -> WaveView | None:
        if not self.waves:
            return None
        return self.waves[min(self.query_one("#waves-table", DataTable).cursor_row, len(self.waves) - 1)]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._describe()

    def _describe(self) -> None:
        wave = self.current()
        if wave is None:
            self.query_one("#wave-detail", Static).update(t("participants.waves.none"))
            return
        quotas = " ".join(f"{code}:{quota}" for code, quota in wave.province_quotas.items()) or "-"
        text = t(
            "participants.waves.detail", number=wave.number, balance=rupiah(wave.training_balance_idr),
            incentive=rupiah(wave.incentive_idr), incentives=wave.incentive_count, survey=rupiah(wave.survey_idr),
            surveys=wave.survey_count, opens=wave.registration_opens.isoformat(),
            closes=wave.registration_closes.isoformat(), starts=wave.starts_on.isoformat(),
            days=wave.purchase_deadline_days, budget=rupiah(wave.budget_idr), quotas=quotas,
            seed=wave.selection_seed if wave.selection_seed is not None else "-",
        )
        if wave.ready_to_sweep(dt.date.today()):
            text += "\n" + t("participants.waves.ready_to_sweep", deadline=wave.deadline.isoformat())
        funnel = funnel_of(wave)
        chart = bars([(t(f"participants.waves.col.{stage}"), getattr(funnel, stage))
                      for stage in ("registered", "selected", "purchased", "completed", "revoked")])
        self.query_one("#wave-detail", Static).update(Text(text + "\n\n" + t("participants.waves.funnel") + "\n") + chart)

    def action_back(self) -> None:
        self.dismiss(True)

    # --- creating and editing --------------------------------------------------------------

    def _wave_form(self, title: str, wave: WaveView | None, run) -> None:
        fields = [
            Field(name, f"field.{name}", "" if wave is None else str(getattr(wave, name)))
            for name in waves.INPUT_FIELDS
        ]
        self.app.push_screen(FormScreen(title, fields, hint=t("participants.wave_form.hint"), run=run),
                             unless_cancelled(self._saved))

    def action_new_wave(self) -> None:
        self._wave_form(t("participants.wave_form.new"), None, lambda values: job(_create_wave, values))

    def action_edit_wave(self) -> None:
        wave = self.current()
        if wave is not None:
            self._wave_form(t("participants.wave_form.edit", number=wave.number), wave,
                            lambda values: job(_update_wave, wave, values))

    def action_quotas(self) -> None:
        wave = self.current()
        if wave is None:
            return
        current = " ".join(f"{code}:{quota}" for code, quota in wave.province_quotas.items())

        self.app.push_screen(FormScreen(
            t("participants.quotas.title", number=wave.number, quota=wave.quota),
            [Field("quotas", "field.quotas", current)], hint=t("participants.quotas.hint"),
            run=lambda values: job(_set_quotas, wave, values["quotas"]),
        ), unless_cancelled(self._saved))

    def action_advance(self) -> None:
        wave = self.current()
        if wave is None:
            return
        following = {"planned": "open", "in_progress": "closed"}.get(wave.state)
        if following is None:
            self.app.notify(t("participants.advance.none", state=t(f"wave.state.{wave.state}")), severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(waves.set_wave_state, wave.id, following, expected_version=wave.version, then=self._saved)

        self.app.push_screen(
            ConfirmScreen(t("participants.advance.title", number=wave.number),
                          t(f"participants.advance.{following}", number=wave.number)),
            answered,
        )

    def _saved(self, wave: WaveView) -> None:
        self.app.notify(t("participants.wave_form.saved", number=wave.number))
        self.action_refresh()

    # --- selection -------------------------------------------------------------------------

    @dialog
    async def action_select(self) -> None:
        wave = self.current()
        if wave is None:
            return
        title = t("participants.select.title", number=wave.number)
        if wave.state == "selecting":  # cut short: finished with the seed it was started with
            seed = wave.selection_seed
            title = t("participants.select.resume_title", number=wave.number)
            body = t("participants.select.resume", number=wave.number, seed=seed, selected=funnel_of(wave).selected)
        else:
            values = await self.app.push_screen_wait(FormScreen(
                title, [Field("seed", "field.seed", str(secrets.randbelow(2**31)))], hint=t("participants.select.hint")))
            if not values:
                return
            seed = parse_int(values["seed"], "seed")  # not a number: said by the dialog, nothing done
            body = t("participants.select.confirm", number=wave.number, quota=wave.quota, seed=seed,
                     balance=rupiah(wave.training_balance_idr), registered=funnel_of(wave).registered)
        if await self.app.push_screen_wait(ConfirmScreen(title, body)):
            # A progress bar: at millions registered a selection takes minutes. Stopped, or cut
            # short, it is finished by selecting the wave again.
            await self.app.push_screen_wait(JobScreen(
                title, selection.select_participants, (wave.number, seed), selection_said, _rejected_rows))
            self.action_refresh()

    # --- rejections ------------------------------------------------------------------------

    def action_rejections(self) -> None:
        wave = self.current()
        if wave is not None:
            self.call(selection.rejection_counts, wave.number, then=lambda counts: self._show_rejections(wave, counts))

    def _show_rejections(self, wave: WaveView, counts: dict[str, int]) -> None:
        from screens.participants_rejections import RejectionsScreen

        self.app.push_screen(RejectionsScreen(wave.number, counts))

    # --- the sweep -------------------------------------------------------------------------

    @dialog
    async def action_sweep(self) -> None:
        wave = self.current()
        if wave is None:
            return
        preview = await self.ask(selection.sweep_preview, wave.number)
        body = t("participants.sweep.confirm", number=preview.wave_number, deadline=preview.deadline.isoformat(),
                 count=preview.revoked, returned=rupiah(preview.returned_idr), words=in_words(preview.returned_idr))
        if await self.app.push_screen_wait(ConfirmScreen(t("participants.sweep.title", number=preview.wave_number), body)):
            self.call(selection.sweep_wave, preview.wave_number, then=self._swept)

    def _swept(self, result: selection.SweepResult) -> None:
        self.app.notify(t("cli.waves.swept", number=result.wave_number, deadline=result.deadline.isoformat(),
                          revoked=result.revoked, blacklisted=result.blacklisted,
                          returned=rupiah(result.returned_idr)), timeout=10)
        self.action_refresh()


def _rejected_rows(result: selection.SelectionResult) -> tuple[list[str], list[list[str]]]:
    """Why the others were not selected, reason by reason, below the selection's summary."""
    return ([t("participants.col.reason"), t("dashboard.count")],
            [[t(f"selection.reason.{reason}"), group_digits(count)] for reason, count in result.rejected.items()])


def funnel_of(wave: WaveView) -> Funnel:
    """The wave's funnel: this screen lists waves as waves.list_waves gives them, each with its own."""
    assert wave.funnel is not None
    return wave.funnel


MONEY_FIELDS = frozenset({"training_balance_idr", "incentive_idr", "survey_idr", "budget_idr"})
DATE_FIELDS = frozenset({"registration_opens", "registration_closes", "starts_on"})


def wave_input(values: dict[str, str]) -> waves.WaveInput:
    """The form's text as a WaveInput; InvalidInput names the field that is not a number/date."""
    parsed: dict[str, Any] = {}  # numbers and dates, by field
    for name in waves.INPUT_FIELDS:
        text = values[name]
        if name in DATE_FIELDS:
            parsed[name] = parse_date(text, name)
        elif name in MONEY_FIELDS and text.strip() != "0":
            parsed[name] = positive_money(text, name)
        else:
            parsed[name] = parse_int(text, name)
    return waves.WaveInput(**parsed)


def province_quota_text(text: str) -> dict[str, int]:
    """"32:80 96:5" -> {"32": 80, "96": 5}."""
    quotas = {}
    for item in text.replace(",", " ").split():
        code, _, quota = item.partition(":")
        if not quota.strip().isdigit():
            raise InvalidInput("wave.quotas_format", field="quotas", value=item)
        quotas[code.strip()] = int(quota)
    return quotas


async def _create_wave(db, actor, values: dict[str, str]) -> WaveView:
    return await waves.create_wave(db, actor, wave_input(values))


async def _update_wave(db, actor, wave: WaveView, values: dict[str, str]) -> WaveView:
    return await waves.update_wave(db, actor, wave.id, wave_input(values), expected_version=wave.version)


async def _set_quotas(db, actor, wave: WaveView, text: str) -> WaveView:
    return await waves.set_province_quotas(db, actor, wave.id, province_quota_text(text), expected_version=wave.version)
