"""The Audit area: events newest (or oldest) first, filtered by operator, entity and action;
chain check; the operators and their sessions."""

from __future__ import annotations

import json

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input

from store.audit import VerifyResult
from store.services import audit_log
from tui import list_count
from tui.area import Area
from tui.i18n import t
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Static
from tui.widgets.sort_order import SortChoice


def _row(event: audit_log.EventView) -> tuple[str, list[str]]:
    return str(event.id), [
        str(event.id),
        event.at.strftime("%Y-%m-%d %H:%M:%S"),
        event.operator_name,
        event.action,
        f"{event.entity} {event.entity_id}".strip(),
        event.reason[:40],
    ]


class AuditArea(SortChoice, Area):
    AREA_ID = "audit"
    TITLE = "area.audit"
    READ_PERMISSION = "audit.read"
    SORTS = audit_log.AUDIT_SORTS
    SORT_TEXT = "audit.sort."
    DEFAULT_CSS = """
    AuditArea #audit-filters { height: 1; margin: 1 0 0 0; }
    AuditArea #audit-filters Input { width: 1fr; margin-right: 1; }
    AuditArea #audit-detail { height: auto; max-height: 10; border-top: solid $primary; padding: 0 1; }
    AuditArea #audit-status { height: auto; max-height: 2; color: $text-muted; }
    """
    ACTION_PERMISSIONS = {"verify": "audit.verify", "sessions": "operator.read"}
    BINDINGS = [
        Binding("slash", "filter", "keys.filter", id="mitra.audit.filter"),
        Binding("v", "verify", "keys.verify_chain", id="mitra.audit.verify"),
        Binding("s", "sessions", "sessions.key.open", id="mitra.audit.sessions"),
        Binding("o", "next_sort", "keys.sort", id="mitra.audit.sort"),
        Binding("r", "refresh", "keys.refresh", id="mitra.audit.refresh"),
        Binding("escape", "clear_filter", "keys.clear_filter", show=False, id="mitra.audit.clear"),
    ]

    def compose(self) -> ComposeResult:
        with Horizontal(id="audit-filters"):
            yield Input(id="filter-operator", compact=True)
            yield Input(id="filter-entity", compact=True)
            yield Input(id="filter-action", compact=True)
        yield Static("", id="audit-status")
        yield PagedTable(
            [
                ("id", "audit.col.id"), ("at", "audit.col.at"), ("operator", "audit.col.operator"),
                ("action", "audit.col.action"), ("entity", "audit.col.entity"), ("reason", "audit.col.reason"),
            ],
            _row,
            id="audit-events",
        )
        yield Static("", id="audit-detail")  # reasons are typed by operators: shown as typed (tui/widgets/plain.py)

    def on_mount(self) -> None:
        self._set_placeholders()

    def _set_placeholders(self) -> None:
        self.query_one("#filter-operator", Input).placeholder = t("audit.filter.operator")
        self.query_one("#filter-entity", Input).placeholder = t("audit.filter.entity")
        self.query_one("#filter-action", Input).placeholder = t("audit.filter.action")

    def relabel(self) -> None:
        self._set_placeholders()
        self.query_one(PagedTable).relabel()
        self.reload()

    def activate(self) -> None:
        self.reload()

    def _filters(self) -> audit_log.EventFilter:
        return audit_log.EventFilter(
            operator=self.query_one("#filter-operator", Input).value,
            entity=self.query_one("#filter-entity", Input).value,
            action=self.query_one("#filter-action", Input).value,
        )

    def reload(self) -> None:
        filters, sort = self._filters(), self.sort
        list_count.cancel_count(self, "audit")

        async def fetch(db, actor, cursor, limit):
            return await audit_log.list_events(db, actor, filters, sort=sort, cursor=cursor, limit=limit)

        self.query_one(PagedTable).load(fetch)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.reload()
        self.query_one(PagedTable).focus()

    def on_paged_table_loaded(self, message: PagedTable.Loaded) -> None:
        status = self.query_one("#audit-status", Static)
        list_count.show_loaded(self, message, status, "audit", audit_log.count_events, self._filters(),
                               order=self.sort_text())

    def on_data_table_row_highlighted(self, event) -> None:
        row = self.query_one(PagedTable).selected_row()
        if row is None:
            return
        body = json.dumps(row.changes, ensure_ascii=False, indent=None, default=str) if row.changes else t("audit.no_changes")
        reason = f"\n{t('audit.col.reason')}: {row.reason}" if row.reason else ""
        record = f"{row.entity} {row.entity_id}".strip()
        self.query_one("#audit-detail", Static).update(
            f"#{row.id} {row.action} · {record} · {row.operator_name}\n{body}{reason}"
        )

    def action_filter(self) -> None:
        self.query_one("#filter-operator", Input).focus()

    def action_clear_filter(self) -> None:
        for field in self.query(Input):
            field.value = ""
        self.reload()
        self.query_one(PagedTable).focus()

    def action_refresh(self) -> None:
        self.reload()

    def action_sessions(self) -> None:
        from screens.operators import SessionsScreen

        self.app.push_screen(SessionsScreen())

    def action_verify(self) -> None:
        self.query_one("#audit-status", Static).update(t("audit.verifying"))
        self.call(audit_log.verify, then=self.show_verification)

    def show_verification(self, result: VerifyResult) -> None:
        if result.intact:
            message = t("audit.intact", count=result.checked)
            self.app.notify(message, title=t("area.audit"))
            message += "\n" + t("audit.anchor", anchor=result.anchor)
        else:
            message = t(f"cli.audit.broken_{result.problem}", id=result.broken_id, count=result.checked)
            self.app.notify(message, title=t("area.audit"), severity="error", timeout=15)
        self.query_one("#audit-status", Static).update(message)
