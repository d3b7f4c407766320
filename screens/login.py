"""The login screen: user name and password; in the demo, the demo operators to pick from."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input
from textual.widgets.option_list import Option

from store.errors import MitraError
from store.origin import where_from
from tui.i18n import describe_error, t
from tui.widgets.plain import Label, OptionList, Static
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller


async def log_in(db, username: str, password: str):
    """A console's login, with its session (where the console runs from). The login's record goes
    on in the background: a long writer elsewhere must not keep the operator from reading. Also
    the demo tour's way in as each operator (tui/app.py)."""
    from store.services import operators  # loaded behind this screen (tui/app.py)

    actor = await operators.login(db, username, password, defer_record=True, session_from=where_from())
    db.start_deferred()
    return actor

def _roles_in_words(roles: str) -> str:
    """A demo operator's roles as the operator reads them: "platform @ tokopedia" is
    "staf platform @ tokopedia" in Indonesian."""
    names, at, platform = roles.partition(" @ ")
    return ", ".join(t(f"role.{name}") for name in names.replace(",", " ").split()) + at + platform


class LoginScreen(ServiceCaller, Screen):
    DEFAULT_CSS = """
    LoginScreen { align: center middle; }
    LoginScreen #login-box { width: 64; height: auto; border: round $accent; padding: 0 2; }
    LoginScreen #login-title { text-style: bold; width: 100%; content-align: center middle; margin-bottom: 1; }
    LoginScreen Input { margin-bottom: 1; }
    LoginScreen #login-error { color: $error; height: auto; }
    LoginScreen #demo-operators { height: auto; max-height: 17; }
    LoginScreen #demo-hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("ctrl+q", "app.quit", "keys.quit", id="mitra.login.quit")]

    def __init__(self, demo_operators: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self._demo_operators = demo_operators or []
        # The field typed keys belong to, decided as each key arrives (see take_key).
        self._field: str | None = None

    def take_key(self, event: events.Key) -> bool:
        """Handle a key of the credentials in arrival order; True when handled.

        Over SSH or from a password manager, `coordinator<Tab>demo<Enter>` arrives at once, before
        Textual has moved the focus for the Tab: the keys after it would still reach the user
        name. The app hands every key to this method first (in order, before it forwards keys to
        the focused widget), and the field they belong to changes the moment Tab or Enter is read.
        A name typed while the demo's operator list has focus goes to the user name too."""
        focused = self.app.focused
        field = self._field or (focused.id if isinstance(focused, Input) else None)
        if field is None and not (isinstance(focused, OptionList) and event.is_printable and event.character):
            return False
        field = field or "username"
        if event.key in ("tab", "enter") and field == "username":
            if event.key == "enter" and not self.query_one("#username", Input).value.strip():
                return True
            self._to("password")
        elif event.key == "shift+tab" and field == "password":
            self._to("username")
        elif event.key == "enter":
            self._field = None
            self.submit()
        elif event.key == "backspace":
            self.query_one(f"#{field}", Input).action_delete_left()
            self._field = field
        elif event.is_printable and event.character:
            self.query_one(f"#{field}", Input).insert_text_at_cursor(event.character)
            if self._field is None:
                self._to(field)
        else:
            return False
        return True

    def _to(self, field: str) -> None:
        self._field = field
        self.query_one(f"#{field}", Input).focus()

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Center(), Vertical(id="login-box"):
            yield Label(t("login.title"), id="login-title")
            yield Label(t("login.username"))
            yield Input(id="username", compact=True)
            yield Label(t("login.password"))
            yield Input(id="password", password=True, compact=True)
            yield Button(t("login.submit"), id="login-submit", variant="primary", compact=True)
            yield Static("", id="login-error")
            if self._demo_operators:
                yield Static(t("login.demo_hint"), id="demo-hint")
                yield OptionList(
                    *[Option(f"{name:<14} {_roles_in_words(roles)}", id=name) for name, roles in self._demo_operators],
                    id="demo-operators",
                    compact=True,
                )

    # Rows of the screen the login box needs besides the demo operators' list (status bar,
    # border, title, fields, button, a line of error, the hint).
    ROWS_BESIDE_THE_LIST = 16

    def on_resize(self, event: events.Resize) -> None:
        # The list scrolls inside the box, so the fields stay on screen at 24 rows too.
        if self._demo_operators:
            self.query_one("#demo-operators").styles.max_height = max(3, min(17, event.size.height - self.ROWS_BESIDE_THE_LIST))

    def on_mount(self) -> None:
        # In the demo, picking an operator from the list is the quickest way in.
        first = "#demo-operators" if self._demo_operators else "#username"
        self.query_one(first).focus()

        async def count_operators(db, _actor) -> int:
            from store.services import operators  # loaded behind this screen (tui/app.py)

            return await operators.operator_count(db)

        self.call(count_operators, then=self.show_first_run_hint)

    def show_first_run_hint(self, count: int) -> None:
        """A new database has nobody to log in as: say how to create the first admin."""
        if count == 0:
            self.query_one("#login-error", Static).update(t("login.no_operators"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#username", Input).value = event.option.id or ""
        self.query_one("#password", Input).value = "demo"
        self.submit()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "username":
            self.query_one("#password", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "login-submit":
            self.submit()

    def submit(self) -> None:
        username = self.query_one("#username", Input).value
        password = self.query_one("#password", Input).value
        if not username.strip():
            self.query_one("#username", Input).focus()
            return
        self.query_one("#login-error", Static).update(t("login.checking"))
        app = self.app

        async def do_login(db, _actor):
            return await log_in(db, username, password)

        self.call(do_login, then=app.logged_in, on_error=self.failed)

    def failed(self, error: MitraError) -> None:
        self._field = None
        self.query_one("#login-error", Static).update(describe_error(error))
        password = self.query_one("#password", Input)
        password.value = ""
        password.focus()
