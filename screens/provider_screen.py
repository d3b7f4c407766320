"""One provider's file: documents, the stage-by-stage scorecard, courses, listings and history,
with the decisions its state allows. Opened from the list, or as the curation queue, where
`]` and `[` step to the next and previous provider without going back to the list."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import TabbedContent, TabPane

from screens.console import loaded
from screens.provider_course import CourseScreen, course_form
from screens.provider_forms import FormField, FormScreen, job
from screens.provider_scorecard import ScoreTable
from screens.provider_text import label, percent, plain, stage_summary
from store.errors import InvalidInput
from store.models import ProviderState
from store.provinces import province_name
from store.services import curation, providers
from store.services.provider_actions import PROVIDER_RULES
from store.services.provider_file import ProviderFile, provider_file
from tui.gating import ActionsGate
from tui.i18n import event_label, t
from tui.money import rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

TABS = ("documents", "scorecard", "courses", "listings", "history")


class DocumentTable(DataTable):
    """The documents checklist: `p` marks the document under the cursor present, `m` missing."""

    BINDINGS = [
        Binding("p", "mark('present')", "providers.key.mark_present", id="mitra.providers.mark_present"),
        Binding("m", "mark('missing')", "providers.key.mark_missing", id="mitra.providers.mark_missing"),
    ]

    class Marked(Message):
        def __init__(self, kind: str, status: str) -> None:
            super().__init__()
            self.kind = kind
            self.status = status

    editable = False

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "mark":
            return self.editable  # hidden unless the operator may change the checklist now
        return True

    def action_mark(self, status: str) -> None:
        if self.row_count == 0 or not self.editable:
            return
        kind = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        if kind is None:  # every row is keyed by its document's kind
            return
        self.post_message(self.Marked(kind, status))
        if self.cursor_row < self.row_count - 1:
            self.move_cursor(row=self.cursor_row + 1)


# Screen action -> the store's provider action (store/services/provider_actions.py).
SCREEN_ACTIONS = {action: action for action in PROVIDER_RULES} | {"take": "start_curation"}
ACTION_LABELS = {store_action: f"providers.key.{screen}" for screen, store_action in SCREEN_ACTIONS.items()}


class ProviderScreen(ActionsGate, ServiceCaller, Screen):
    DEFAULT_CSS = """
    ProviderScreen #provider-header { height: auto; padding: 0 1; border-bottom: solid $primary; }
    ProviderScreen #provider-held { height: auto; padding: 0 1; color: $warning; }
    ProviderScreen TabbedContent { height: 1fr; }
    ProviderScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "providers.key.back", id="mitra.providers.back"),
        Binding("right_square_bracket", "step(1)", "providers.key.next", id="mitra.providers.next"),
        Binding("left_square_bracket", "step(-1)", "providers.key.previous", id="mitra.providers.previous"),
        *[
            Binding(f"f{n}", f"tab('{tab}')", f"providers.tab.{tab}", show=False, id=f"mitra.providers.tab_{tab}")
            for n, tab in enumerate(TABS, start=2)
        ],
        Binding("s", "submit", "providers.key.submit", id="mitra.providers.submit"),
        Binding("t", "take", "providers.key.take", id="mitra.providers.take"),
        Binding("a", "approve", "providers.key.approve", id="mitra.providers.approve"),
        Binding("x", "reject", "providers.key.reject", id="mitra.providers.reject"),
        Binding("u", "suspend", "providers.key.suspend", id="mitra.providers.suspend"),
        Binding("i", "reinstate", "providers.key.reinstate", id="mitra.providers.reinstate"),
        Binding("n", "new_course", "providers.key.new_course", id="mitra.providers.new_course"),
        Binding("r", "refresh", "keys.refresh", show=False, id="mitra.providers.refresh"),
    ]

    def __init__(self, provider_id: int, queue: list[int] | None = None) -> None:
        super().__init__()
        self.provider_id = provider_id
        self.queue = queue
        self.file: ProviderFile | None = None

    # --- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="provider-header")
        yield Static("", id="provider-held")
        with TabbedContent(id="provider-tabs"):
            for tab in TABS:
                with TabPane(self._tab_label(tab), id=f"tab-{tab}"):
                    if tab == "documents":
                        yield DocumentTable(id="documents", cursor_type="row")
                    elif tab == "scorecard":
                        yield ScoreTable(id="scorecard")
                    else:
                        yield DataTable(id=tab, cursor_type="row", zebra_stripes=True)
        yield TranslatedFooter()

    @staticmethod
    def _tab_label(tab: str) -> str:
        return f"F{TABS.index(tab) + 2} {t(f'providers.tab.{tab}')}"

    def on_mount(self) -> None:
        self._columns()
        self.query_one(DocumentTable).focus()
        self.reload()

    def _columns(self) -> None:
        columns = {
            "documents": ("kind", "status", "reference", "note"),
            "courses": ("title", "category", "mode", "hours", "price", "outside", "state"),
            "listings": ("course", "platform", "commission", "status", "reason"),
            "history": ("at", "operator", "action", "reason"),
        }
        for table_id, keys in columns.items():
            table = self.query_one(f"#{table_id}", DataTable)
            table.clear(columns=True)
            for key in keys:
                table.add_column(t(f"providers.col.{key}"), key=key)

    def relabel(self) -> None:
        for tab in TABS:
            self.query_one("#provider-tabs", TabbedContent).get_tab(f"tab-{tab}").label = self._tab_label(tab)
        self._columns()
        self.query_one(ScoreTable).relabel()
        self.query_one(StatusBar).refresh_text()
        if self.file is not None:
            self.show(self.file)

    # --- loading --------------------------------------------------------------------------

    def reload(self) -> None:
        self.call(provider_file, self.provider_id, then=self.show)

    def show(self, file: ProviderFile) -> None:
        self.file = file
        self._judged(file)
        self.query_one("#provider-header", Static).update(self._header(file))
        self._documents(file)
        scores = self.query_one(ScoreTable)
        scores.editable = self._can_score()
        scores.show(file.scorecard)
        self._courses(file)
        self._listings(file)
        self._history(file)
        self.refresh_bindings()

    def _header(self, file: ProviderFile) -> Text:
        """Plain text (names and reasons are shown as typed, never read as markup)."""
        p = file.provider
        modes = " + ".join(
            label("delivery", mode) for mode, on in (("online", p.offers_online), ("offline", p.offers_offline)) if on
        )
        header = Text.assemble((p.name, "bold"), "   ", (f" {label('state', p.state)} ", "reverse"))
        lines = [
            f"NIB {p.nib} · NPWP {p.npwp} · {label('legal_form', p.legal_form)} · "
            f"{province_name(p.province_code)} · {modes}",
            t(
                "providers.header.more",
                platforms=", ".join(platform.name for platform in p.platforms) or "-",
                group=p.ownership_group or "-", founded=p.founded_on.isoformat() if p.founded_on else "-",
                contact=" ".join(filter(None, (p.contact_name, p.contact_email, p.contact_phone))) or "-",
                version=file.scorecard.scheme_version,
            ),
        ]
        if p.state_reason:
            lines.append(t("providers.header.reason", reason=p.state_reason))
        if self.queue is not None:
            position = self.queue.index(self.provider_id) + 1 if self.provider_id in self.queue else "-"
            lines.append(t("providers.header.queue", position=position, total=len(self.queue)))
        header.append("\n" + "\n".join(lines))
        return header

    def _documents(self, file: ProviderFile) -> None:
        table = self.query_one(DocumentTable)
        table.editable = self._can_edit_documents()
        row = table.cursor_row
        table.clear()
        for document in file.provider.documents:
            table.add_row(
                label("document", document.kind), label("document_status", document.status),
                plain(document.reference), plain(document.note), key=document.kind,
            )
        table.move_cursor(row=row)

    def _courses(self, file: ProviderFile) -> None:
        table = self.query_one("#courses", DataTable)
        table.clear()
        for course in file.courses:
            outside = t("providers.free_elsewhere") if course.free_elsewhere else (
                rupiah(course.outside_price_idr) if course.outside_price_idr is not None else "-"
            )
            table.add_row(
                plain(course.title), plain(course.category), label("mode", course.mode), str(course.hours),
                rupiah(course.price_idr), outside, label("course_state", course.state), key=str(course.id),
            )

    def _listings(self, file: ProviderFile) -> None:
        table = self.query_one("#listings", DataTable)
        table.clear()
        for listing in file.listings:
            table.add_row(
                plain(listing.course_title), listing.platform_name, percent(listing.commission_bp),
                label("listing_status", listing.status), plain(listing.status_reason), key=str(listing.id),
            )

    def _history(self, file: ProviderFile) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        for event in reversed(file.history):
            table.add_row(
                event.at.strftime("%Y-%m-%d %H:%M"), event.operator_name, event_label(event.action), plain(event.reason),
                key=str(event.id),
            )

    # --- what the operator may do -----------------------------------------------------------

    @property
    def _state(self) -> str:
        return self.file.provider.state if self.file else ""

    def _can_curate(self) -> bool:
        return bool(self.file and self.file.may_assess)

    def _can_score(self) -> bool:
        return self._can_curate() and self._state == ProviderState.IN_CURATION

    def _can_edit_documents(self) -> bool:
        actor = self.operator
        if not actor.can("provider.inventory") or self.file is None:
            return False
        editable = providers.PLATFORM_EDITABLE if actor.is_platform_staff else providers.OFFICE_EDITABLE
        return self._state in editable

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "step":
            return self.queue is not None
        store_action = SCREEN_ACTIONS.get(action)
        return True if store_action is None else self.gate(store_action)

    # --- navigation -------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one("#provider-tabs", TabbedContent).active = f"tab-{tab}"
        table = self.query_one(f"#{tab}")
        table.focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_step(self, offset: int) -> None:
        if not self.queue:
            return
        index = self.queue.index(self.provider_id) if self.provider_id in self.queue else -1
        self.provider_id = self.queue[(index + offset) % len(self.queue)]
        # Nothing acts on the provider just left while the next one loads: the keys, the checklist
        # and the scores wait for its own file.
        self.file = None
        self.store_actions = None
        self.query_one(DocumentTable).editable = False
        self.query_one(ScoreTable).editable = False
        self.refresh_bindings()
        self.reload()

    # --- documents and scores ---------------------------------------------------------------

    def on_document_table_marked(self, message: DocumentTable.Marked) -> None:
        message.stop()
        if self.file is None:  # marked as the screen stepped to another provider: not this one's
            return
        document = next(d for d in self.file.provider.documents if d.kind == message.kind)
        self.call(
            providers.set_document, self.provider_id, message.kind, message.status, reference=document.reference,
            note="" if message.status != "invalid" else document.note, expected_version=document.version,
            then=lambda _view: self.reload(), on_error=self._failed, group=f"document-{message.kind}",
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if self.file is None or key is None:  # not loaded yet (every row is keyed)
            return
        if event.data_table.id == "documents" and self._can_edit_documents():
            self._edit_document(self.file, key)
        elif event.data_table.id == "courses":
            self.app.push_screen(CourseScreen(int(key)), lambda _changed: self.reload())

    def _edit_document(self, file: ProviderFile, kind: str) -> None:
        document = next(d for d in file.provider.documents if d.kind == kind)
        statuses = [(label("document_status", s), s) for s in ("present", "missing", "invalid")]
        form = FormScreen(
            t("providers.document_form.title", document=label("document", kind), provider=file.provider.name),
            [
                FormField("status", "field.status", "select", document.status, statuses),
                FormField("reference", "providers.col.reference", value=document.reference),
                FormField("note", "field.note", value=document.note),
            ],
            lambda values: job(
                providers.set_document, self.provider_id, kind, values["status"], reference=values["reference"],
                note=values["note"], expected_version=document.version,
            ),
        )
        self.app.push_screen(form, lambda _result: self.reload())

    def on_score_table_scored(self, message: ScoreTable.Scored) -> None:
        message.stop()
        self.call(
            curation.score_indicator, self.provider_id, message.stage, message.indicator, message.score,
            then=self._scored, group=f"score-{message.indicator}",
        )

    def _scored(self, card: curation.Scorecard) -> None:
        self.query_one(ScoreTable).show(card)
        # A score can make approval possible (or not): ask the store again, tables untouched.
        self.call(provider_file, self.provider_id, then=self._judged)

    def _judged(self, file: ProviderFile) -> None:
        self.file = file
        self.store_actions = file.actions
        self.query_one("#provider-held", Static).update(Text(self.held_back_text(ACTION_LABELS)))
        self.refresh_bindings()

    # --- decisions --------------------------------------------------------------------------

    def _decide(self, action: str, service, *, reason_required: bool) -> None:
        """Ask for the reason (or a note), confirm what will happen, then run the decision."""
        file = loaded(self.file)
        name = file.provider.name
        version = file.provider.version

        def confirm(values):
            reason = " ".join(values["reason"].split())
            if reason_required and not reason:
                raise InvalidInput("input.required", field="reason")
            body = t(f"providers.confirm.{action}", name=name)
            if action == "approve":
                body += "\n\n" + stage_summary(file.scorecard)
            if reason:
                body += "\n\n" + t("providers.confirm.reason", reason=reason)
            return t(f"providers.key.{action}") + f": {name}", body

        def run(values):
            if action == "approve":
                return job(service, self.provider_id, note=values["reason"], expected_version=version)
            return job(service, self.provider_id, values["reason"], expected_version=version)

        form = FormScreen(
            t(f"providers.key.{action}") + f": {name}",
            [FormField("reason", "field.reason" if reason_required else "field.note")],
            run, intro=t(f"providers.confirm.{action}", name=name), confirm=confirm,
        )
        # Cancelled or not, reload: a refusal such as "changed by someone else" needs fresh data.
        self.app.push_screen(form, lambda result: self._decided(action, name) if result else self.reload())

    def _failed(self, error) -> None:
        """Show the refusal and reload: the provider may have changed meanwhile."""
        self.app.show_error(error)
        self.reload()

    def _decided(self, action: str, name: str) -> None:
        self.app.notify(t(f"providers.done.{action}", name=name))
        self.reload()

    def _confirm_then(self, action: str, service) -> None:
        """A step that needs no reason: confirm, then run."""
        provider = loaded(self.file).provider
        name = provider.name
        version = provider.version

        def answered(yes: bool | None) -> None:
            if yes:
                self.call(
                    service, self.provider_id, expected_version=version, then=lambda _s: self._decided(action, name),
                    on_error=self._failed,
                )

        self.app.push_screen(
            ConfirmScreen(
                Text(t(f"providers.key.{action}") + f": {name}"), Text(t(f"providers.confirm.{action}", name=name))
            ),
            answered,
        )

    def action_submit(self) -> None:
        self._confirm_then("submit", providers.submit_provider)

    def action_take(self) -> None:
        self._confirm_then("take", curation.start_curation)

    def action_approve(self) -> None:
        self._decide("approve", curation.approve_provider, reason_required=False)

    def action_reject(self) -> None:
        self._decide("reject", curation.reject_provider, reason_required=True)

    def action_suspend(self) -> None:
        self._decide("suspend", providers.suspend_provider, reason_required=True)

    def action_reinstate(self) -> None:
        self._decide("reinstate", providers.reinstate_provider, reason_required=True)

    def action_new_course(self) -> None:
        self.app.push_screen(course_form(self.provider_id, loaded(self.file).provider.name),
                             lambda c: self.reload() if c else None)
