"""The header line: product, database, operator and roles, language, and the DEMO badge (with a
demo server's sandbox, its name)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal

from tui.i18n import current_language, t
from tui.widgets.plain import Label


class StatusBar(Horizontal):
    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $panel; color: $foreground; }
    StatusBar Label { padding: 0 1; }
    StatusBar #status-product { text-style: bold; color: $accent; }
    StatusBar #status-demo { background: $warning; color: $background; text-style: bold; }
    StatusBar #status-spacer { width: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Mitra", id="status-product")
        if getattr(self.app, "demo", False):
            sandbox = getattr(self.app, "sandbox", None)
            yield Label(f"DEMO · {sandbox}" if sandbox else "DEMO", id="status-demo")
        yield Label("", id="status-db")
        yield Label("", id="status-spacer")
        yield Label("", id="status-operator")
        yield Label("", id="status-lang")

    def on_mount(self) -> None:
        self.refresh_text()

    def refresh_text(self) -> None:
        app = self.app
        db = getattr(app, "db", None)  # None while it opens behind the login screen
        self.query_one("#status-db", Label).update(t("shell.status.database", db=db.label) if db is not None else "")
        actor = getattr(app, "actor", None)
        if actor is not None:
            roles = ", ".join(t(f"role.{role}") for role in sorted(actor.roles))
            scope = f" @ {actor.platform_code}" if actor.platform_code else ""
            who = t("shell.status.operator", user=actor.username, roles=roles + scope)
        else:
            who = ""
        self.query_one("#status-operator", Label).update(who)
        self.query_one("#status-lang", Label).update(current_language().upper())
