"""Operators and who is logged in where: the operators with their roles and any lockout (an admin
unlocks one, `u`), and the console sessions (operator, origin, since, last action), open ones
first (an admin ends one with a reason, `e`, and its console returns to the login screen at its
next action), and the SSH keys that log operators into `mitra serve ssh` (an admin adds one for the
chosen operator, `k`, or removes the chosen key, `x`). Opened from the Audit area (`o`)."""

from __future__ import annotations

import functools

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from screens.participants_forms import Field, FormScreen, unless_cancelled
from store.models import utcnow
from store.services import operator_keys, operators, sessions
from tui.gating import PermissionGate
from tui.i18n import t
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller, job

COLUMNS = ("id", "operator", "origin", "peer", "since", "last_action", "state")
OPERATOR_COLUMNS = ("username", "roles", "platform", "state")
KEY_COLUMNS = ("username", "fingerprint", "algorithm", "comment")


class SessionsScreen(PermissionGate, ServiceCaller, Screen[None]):
    DEFAULT_CSS = """
    SessionsScreen { padding: 0 1; }
    SessionsScreen #sessions-title { text-style: bold; margin: 1 0; }
    SessionsScreen #operators { height: 1fr; margin-bottom: 1; }
    SessionsScreen #keys { height: auto; max-height: 8; margin-bottom: 1; }
    SessionsScreen #sessions { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "keys.back", id="mitra.sessions.back"),
        Binding("e", "end", "sessions.key.end", id="mitra.sessions.end"),
        Binding("u", "unlock", "sessions.key.unlock", id="mitra.sessions.unlock"),
        Binding("k", "add_key", "sessions.key.add_key", id="mitra.sessions.add_key"),
        Binding("x", "remove_key", "sessions.key.remove_key", id="mitra.sessions.remove_key"),
        Binding("r", "refresh", "keys.refresh", id="mitra.sessions.refresh"),
    ]
    ACTION_PERMISSIONS = {"end": "operator.manage", "unlock": "operator.manage", "add_key": "operator.manage",
                          "remove_key": "operator.manage"}

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, sessions.SessionView] = {}
        self.operators: dict[str, operators.OperatorView] = {}
        self.keys: dict[str, operator_keys.KeyView] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(t("sessions.title"), id="sessions-title")
        yield DataTable(id="operators", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield TranslatedFooter()

    def on_mount(self) -> None:
        for key in OPERATOR_COLUMNS:
            self.query_one("#operators", DataTable).add_column(t(f"sessions.col.{key}"), key=key)
        for key in KEY_COLUMNS:
            self.query_one("#keys", DataTable).add_column(t(f"sessions.col.{key}"), key=key)
        table = self.query_one("#sessions", DataTable)
        for key in COLUMNS:
            table.add_column(t(f"sessions.col.{key}"), key=key)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.call(operators.list_operators, then=self.show_operators)
        self.call(sessions.list_sessions, then=self.show)
        self.call(operator_keys.list_keys, then=self.show_keys)

    def show_keys(self, views: list[operator_keys.KeyView]) -> None:
        table = self.query_one("#keys", DataTable)
        table.clear()
        self.keys = {str(view.id): view for view in views}
        for view in views:
            table.add_row(view.operator, view.fingerprint, view.algorithm, view.comment, key=str(view.id))

    def show_operators(self, views: list[operators.OperatorView]) -> None:
        table = self.query_one("#operators", DataTable)
        table.clear()
        self.operators = {view.username: view for view in views}
        now = utcnow()
        for view in views:
            if view.locked(now):
                state = t("sessions.locked", until=f"{view.locked_until:%H:%M}")
            else:
                state = t("sessions.active") if view.is_active else t("sessions.inactive")
            table.add_row(view.username, ", ".join(view.roles), view.platform_code or "", state, key=view.username)

    def show(self, views: list[sessions.SessionView]) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        self.views = {str(view.id): view for view in views}
        for view in views:
            state = t("sessions.open") if view.open else t("sessions.ended", by=view.ended_by or "-",
                                                           reason=view.end_reason)
            table.add_row(
                str(view.id), view.operator, t(f"sessions.origin.{view.origin}"), view.peer,
                f"{view.started_at:%Y-%m-%d %H:%M}", f"{view.last_action_at:%Y-%m-%d %H:%M}", state,
                key=str(view.id),
            )

    def _key(self, table_id: str) -> str | None:
        table = self.query_one(f"#{table_id}", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def selected(self) -> sessions.SessionView | None:
        return self.views.get(self._key("sessions") or "")

    def action_unlock(self) -> None:
        view = self.operators.get(self._key("operators") or "")
        if view is None or not view.locked(utcnow()):
            self.app.notify(t("sessions.nothing_to_unlock"), severity="warning")
            return
        self.call(operators.unlock, view.username, then=lambda _: self._unlocked(view.username))

    def _unlocked(self, username: str) -> None:
        self.app.notify(t("cli.operators.unlocked", user=username))
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.reload()

    def action_end(self) -> None:
        view = self.selected()
        if view is None or not view.open:
            self.app.notify(t("sessions.nothing_to_end"), severity="warning")
            return
        self.app.push_screen(FormScreen(
            t("sessions.end_title", id=view.id, operator=view.operator, origin=t(f"sessions.origin.{view.origin}")),
            [Field("reason", "field.reason")],
            run=lambda values: job(sessions.end_session, view.id, values["reason"]),
        ), unless_cancelled(self._ended))

    def _ended(self, view: sessions.SessionView) -> None:
        self.app.notify(t("sessions.ended_now", id=view.id, operator=view.operator))
        self.reload()

    def action_add_key(self) -> None:
        view = self.operators.get(self._key("operators") or "")
        if view is None:
            self.app.notify(t("sessions.choose_operator"), severity="warning")
            return
        self.app.push_screen(FormScreen(
            t("sessions.add_key_title", operator=view.username), [Field("key", "field.public_key")],
            run=lambda values: job(operator_keys.add_key, view.username, values["key"]),
        ), unless_cancelled(functools.partial(self._keys_changed, "cli.keys.added")))

    def action_remove_key(self) -> None:
        view = self.keys.get(self._key("keys") or "")
        if view is None:
            self.app.notify(t("sessions.choose_key"), severity="warning")
            return
        # The fingerprint stands in the form already: Enter confirms, Escape keeps the key.
        self.app.push_screen(FormScreen(
            t("sessions.remove_key_title", operator=view.operator), [Field("fingerprint", "field.fingerprint",
                                                                            view.fingerprint)],
            run=lambda values: job(operator_keys.remove_key, view.operator, values["fingerprint"]),
        ), unless_cancelled(functools.partial(self._keys_changed, "cli.keys.removed")))

    def _keys_changed(self, message: str, view: operator_keys.KeyView) -> None:
        self.app.notify(t(message, fingerprint=view.fingerprint, user=view.operator))
        self.reload()
