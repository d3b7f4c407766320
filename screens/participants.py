"""The Participants area: the registry searched by NIK or name, filtered by wave, province and
status, in keyset pages (a million participants open as fast as ten); assignment of one or many
participants to a course, imports, and the Waves view."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input

from screens.participants_forms import (
    Field,
    FormScreen,
    JobScreen,
    ListingPickerScreen,
    parse_int,
)
from store import csvio
from store.errors import MitraError, RuleViolation
from store.provinces import PROVINCES
from store.services import (
    bulk_assignment,
    enrollments,
    participant_import,
    participant_lists,
    registry,
    waves,
)
from store.services.registry import ParticipantFilter, ParticipantRow
from tui import list_count
from tui.area import Area
from tui.dialogs import dialog
from tui.i18n import describe_error, t
from tui.money import in_words, rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Select, Static
from tui.widgets.search_input import SearchInput
from tui.widgets.sort_order import SortChoice

SHOWN_ERRORS = 500


def _row(row: ParticipantRow) -> tuple[str, list[str]]:
    return str(row.id), [
        row.nik, row.full_name, row.birth_date.isoformat(), t(f"participant.sex.{row.sex}"), row.province_code,
        t(f"participant.status.{row.status}"), str(row.wave_number or ""), rupiah(row.balance_idr),
    ]


class ParticipantsArea(SortChoice, Area):
    AREA_ID = "participants"
    TITLE = "area.participants"
    READ_PERMISSION = "participant.read"
    SORTS = registry.CHOSEN_ORDERS
    SORT_TEXT = "participants.sort."
    DEFAULT_CSS = """
    ParticipantsArea #participant-filters { height: 3; }
    ParticipantsArea #participant-search { width: 2fr; }
    ParticipantsArea #participant-filters Select { width: 1fr; }
    ParticipantsArea #participants-status { height: 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "filter", "keys.filter", id="mitra.participants.filter"),
        Binding("enter", "open", "keys.open", id="mitra.participants.open"),
        Binding("a", "assign", "participants.key.assign", id="mitra.participants.assign"),
        Binding("b", "bulk_assign", "participants.key.bulk_assign", id="mitra.participants.bulk_assign"),
        Binding("i", "import", "participants.key.import", id="mitra.participants.import"),
        Binding("w", "waves", "participants.key.waves", id="mitra.participants.waves"),
        Binding("x", "export", "participants.key.export", id="mitra.participants.export"),
        Binding("o", "next_sort", "keys.sort", id="mitra.participants.sort"),
        Binding("r", "refresh", "keys.refresh", id="mitra.participants.refresh"),
        Binding("escape", "clear_filter", "keys.clear_filter", show=False, id="mitra.participants.clear"),
    ]
    ACTION_PERMISSIONS = {
        "assign": "enrollment.assign", "bulk_assign": "enrollment.assign", "import": "participant.import",
        "waves": "wave.read", "export": "participant.export",
    }

    def compose(self) -> ComposeResult:
        self._wave_options: list[tuple[str, int]] = []  # what the wave filter offers (`_show_waves`)
        with Horizontal(id="participant-filters"):
            yield SearchInput(id="participant-search", results="participants-table")
            yield Select([], id="filter-wave")
            yield Select([], id="filter-province")
            yield Select([], id="filter-status")
        yield Static("", id="participants-status")
        yield PagedTable(
            [("nik", "participants.col.nik"), ("name", "participants.col.name"),
             ("birth", "participants.col.birth_date"), ("sex", "participants.col.sex"),
             ("province", "participants.col.province"), ("status", "participants.col.status"),
             ("wave", "participants.col.wave"), ("balance", "participants.col.balance")],
            _row, id="participants-table",
            reference=lambda row: row.card_number,  # the NIK is copied only from its reveal
            # At 80 columns: status, wave and balance stay whole; born and sex wait for a wider
            # terminal (or the person's own screen), and a long name is cut first.
            hide_below={"birth": 100, "sex": 100}, gives_way="name",
        )

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.query_one("#participant-search", Input).placeholder = t("participants.search")
        self.query_one("#filter-province", Select).set_options(
            [(f"{code} {name}", code) for code, name in PROVINCES.items()]
        )
        self.query_one("#filter-status", Select).set_options(
            [(t(f"participant.status.{status}"), status) for status in registry.STATUSES]
        )
        for select, prompt in (("#filter-wave", "participants.filter.wave"), ("#filter-province", "participants.filter.province"),
                               ("#filter-status", "participants.filter.status")):
            self.query_one(select, Select).prompt = t(prompt)
        self.query_one(PagedTable).relabel()
        self.reload()

    def focus_default(self) -> None:
        self.query_one(PagedTable).focus()

    def activate(self) -> None:
        self.call(waves.wave_options, then=self._show_waves, group="participants-waves")
        self.reload()

    def _show_waves(self, found: list[waves.WaveOption]) -> None:
        select = self.query_one("#filter-wave", Select)
        options = [(t("participants.wave_option", number=wave.number, year=wave.year), wave.id) for wave in found]
        if options == self._wave_options:
            return  # the same waves as shown: new options would lay out and redraw the whole area
        self._wave_options = options
        current = select.value
        select.set_options(options)
        if current in {wave.id for wave in found}:
            select.value = current

    # --- the list --------------------------------------------------------------------------

    def filters(self) -> ParticipantFilter:
        def chosen(selector: str):
            value = self.query_one(selector, Select).value
            return None if value is Select.NULL else value

        return ParticipantFilter(
            search=self.query_one("#participant-search", Input).value.strip(),
            wave_id=chosen("#filter-wave"), province=chosen("#filter-province") or "",
            status=chosen("#filter-status") or "", sort=self.sort,
        )

    def reload(self) -> None:
        filters = self.filters()
        list_count.cancel_count(self, "participants")

        async def fetch(db, actor, cursor, limit):
            return await registry.list_participants(db, actor, filters, cursor, limit)

        self.query_one(PagedTable).load(fetch)

    def on_paged_table_loaded(self, message: PagedTable.Loaded) -> None:
        status = self.query_one("#participants-status", Static)
        filters = self.filters()
        # A search orders its own results (by name, or as the index finds parts of names and NIKs).
        order = t("participants.sort.search") if filters.search else self.sort_text()
        list_count.show_loaded(self, message, status, "participants", registry.count_participants, filters,
                               order=order)

    def on_search_input_search(self, event: SearchInput.Search) -> None:
        if event.search_input.id == "participant-search":
            self.reload()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.reload()

    def selected(self) -> ParticipantRow | None:
        return self.query_one(PagedTable).selected_row()

    def action_filter(self) -> None:
        self.query_one("#participant-search", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#participant-search", Input).value = ""
        for select in self.query(Select):
            select.clear()
        self.reload()
        self.query_one(PagedTable).focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_open(self) -> None:
        from screens.participants_detail import ParticipantScreen

        row = self.selected()
        if row is not None:
            self.app.push_screen(ParticipantScreen(row.id), lambda _changed: self.reload())

    def on_data_table_row_selected(self, event) -> None:
        event.stop()
        self.action_open()

    def show_queue(self, key: str) -> None:
        if key in ("waves_to_sweep", "waves_selecting"):
            self.action_waves()
        elif key == "completions_flagged":
            from screens.participants_flagged import FlaggedCompletionsScreen

            self.app.push_screen(FlaggedCompletionsScreen(), lambda _: self.reload())

    def action_waves(self) -> None:
        from screens.participants_waves import WavesScreen

        self.app.push_screen(WavesScreen(), lambda _changed: self.activate())

    # --- assigning -------------------------------------------------------------------------

    def action_assign(self) -> None:
        row = self.selected()
        if row is not None:
            assign_one(self, row.id, row.full_name, row.balance_idr, then=lambda _view: self.reload())

    @dialog
    async def action_bulk_assign(self) -> None:
        filters = self.filters()
        bulk = bulk_assignment.BulkFilter(wave_id=filters.wave_id, province=filters.province, status=filters.status)
        listing = await self.app.push_screen_wait(ListingPickerScreen(t("participants.bulk.pick")))
        if listing is None:
            return
        preview = await self.ask(bulk_assignment.preview, bulk, listing.listing_id)
        refused = "".join(f"\n  {t(f'participants.refusal.{key}')}: {count}" for key, count in preview.refused.items())
        body = t(
            "participants.bulk.confirm", count=preview.assignable, matching=preview.matching, title=preview.title,
            price=rupiah(preview.price_idr), total=rupiah(preview.total_idr), words=in_words(preview.total_idr),
        ) + refused
        if await self.app.push_screen_wait(ConfirmScreen(t("participants.bulk.confirm_title"), body)):
            await self.app.push_screen_wait(JobScreen(t("participants.bulk.title", title=preview.title),
                                                      bulk_assignment.run, (bulk, preview.listing_id), _bulk_summary,
                                                      _bulk_rows))
            self.reload()

    # --- participant lists -----------------------------------------------------------------

    @dialog
    async def action_export(self) -> None:
        own = self.operator.platform_code or ""
        values = await self.app.push_screen_wait(FormScreen(t("participants.export.title"), [
            Field("platform", "participants.export.platform", own), Field("provider", "participants.export.provider"),
            Field("path", "participants.export.path", str(Path.cwd() / f"peserta-{own or 'platform'}.csv")),
        ], hint=t("participants.export.hint")))
        if values and values["path"]:
            self.call(_export_list, values, then=lambda count: self.app.notify(
                t("cli.participants.exported", path=values["path"], count=count)))

    # --- importing -------------------------------------------------------------------------

    @dialog
    async def action_import(self) -> None:
        values = await self.app.push_screen_wait(FormScreen(
            t("participants.import.ask"), [Field("path", "participants.import.path")], hint=t("participants.import.hint")))
        if not values or not values["path"]:
            return
        path = Path(values["path"]).expanduser()
        await self.app.push_screen_wait(JobScreen(
            t("participants.import.title", file=path.name), participant_import.import_participants, (path,),
            lambda report: _import_summary(report, path), _import_rows))
        self.reload()


def assign_one(caller, participant_id: int, name: str, balance_idr: int, *, then, expected_version: int | None = None) -> None:
    """Pick a course, confirm what happens to the balance, assign. Shared by the list and the
    participant screen."""
    _assign_dialog(caller, participant_id, name, balance_idr, then, expected_version)


@dialog
async def _assign_dialog(caller, participant_id: int, name: str, balance_idr: int, then, expected_version) -> None:
    listing = await caller.app.push_screen_wait(ListingPickerScreen(t("participants.assign.pick", name=name)))
    if listing is None:
        return
    if listing.price_idr > balance_idr:  # the store refuses it too; say so before asking
        caller.app.show_error(RuleViolation("enrollment.balance_insufficient", price_idr=listing.price_idr,
                                            balance_idr=balance_idr))
        return
    body = t(
        "participants.assign.confirm", name=name, title=listing.title, platform=listing.platform_name,
        price=rupiah(listing.price_idr), words=in_words(listing.price_idr), balance=rupiah(balance_idr),
        after=rupiah(balance_idr - listing.price_idr),
    )
    if await caller.app.push_screen_wait(ConfirmScreen(t("participants.assign.confirm_title"), body)):
        caller.call(enrollments.assign, participant_id, listing.listing_id, expected_version=expected_version,
                    then=lambda view: _assigned(caller, view, then))


def _assigned(caller, view: enrollments.EnrollmentView, then) -> None:
    caller.app.notify(t("participants.assign.done", title=view.course_title, price=rupiah(view.price_idr)))
    then(view)


def _bulk_summary(result: bulk_assignment.BulkResult) -> str:
    key = "participants.bulk.stopped" if result.stopped else "participants.bulk.done"
    return t(key, assigned=result.assigned, total=rupiah(result.total_idr), refused=sum(result.refused.values()))


def _bulk_rows(result: bulk_assignment.BulkResult) -> tuple[list[str], list[list[str]]]:
    return (
        [t("participants.col.nik"), t("participants.col.name"), t("participants.col.reason")],
        [[r.nik, r.full_name, t(f"participants.refusal.{r.reason}")] for r in result.refusals[:SHOWN_ERRORS]],
    )


def _import_summary(report: csvio.ImportReport, path: Path) -> str:
    summary = t("cli.import.summary", read=report.read, imported=report.imported, rejected=report.rejected)
    if report.errors:
        errors_path = path.with_name(path.stem + ".errors.csv")
        try:
            csvio.write_errors(report, errors_path, describe_error)
            summary += "\n" + t("cli.import.errors_written", path=str(errors_path))
        except OSError as error:
            summary += "\n" + t("participants.import.errors_unwritable", reason=error.strerror or str(error))
    return summary


def _import_rows(report: csvio.ImportReport) -> tuple[list[str], list[list[str]]]:
    return (
        [t("participants.col.line"), t("participants.col.column"), t("participants.col.reason")],
        [[str(e.line), e.column, describe_error(MitraError(e.key, **e.params))] for e in report.errors[:SHOWN_ERRORS]],
    )


async def _export_list(db, actor, values: dict[str, str]) -> int:
    provider = parse_int(values["provider"], "provider") if values["provider"] else None
    return await participant_lists.write_participant_list(
        db, actor, Path(values["path"]).expanduser(), platform_code=values["platform"] or None, provider_id=provider,
    )
