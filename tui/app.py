"""The Mitra console: a login screen, then the shell with its seven areas."""

from __future__ import annotations

import os

import asyncio
import contextlib
import functools
import importlib
import signal
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from platformdirs import user_config_dir
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import Hit, Hits, Provider
from textual.screen import Screen

from screens.help import HelpScreen
from screens.login import LoginScreen, log_in
from store.errors import DatabaseUnavailable, MitraError, Stopped
from store.origin import where_from
from tui import heap
from tui.i18n import LANGUAGES, current_language, describe_error, has_text, set_language, t
from tui.widgets.footer import BUILTIN as FOOTER_BUILTIN
from tui.widgets.plain import printable
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

if TYPE_CHECKING:
    from textual.driver import Driver
    from textual.notifications import SeverityLevel
    from textual.timer import Timer

    from screens.shell import ShellScreen
    from tui.area import Area
    from store.actor import Actor
    from store.engine import Database
    from screens.tour import TourState
    from tui.ssh_handoff import Handed

THEMES = {"default": "textual-dark", "ansi": "ansi-dark"}
# Loaded behind the login screen, in a thread, while the operator types: the shell with every
# area, and the store under it (SQLAlchemy, the models, the services). The login screen paints
# without them (bench/console_start.py).
BEHIND_THE_LOGIN = (
    "store.migrate", "store.session_check", "store.services.operators", "store.services.sessions", "screens.shell",
)


def _shell() -> type[ShellScreen]:
    from screens.shell import ShellScreen

    return ShellScreen


def _areas() -> list[type[Area]]:
    """The shell's areas, in their order."""
    return _shell().AREA_CLASSES


KEYMAP_FILE = Path(user_config_dir("mitra", appauthor=False)) / "keymap.toml"


class AreaCommands(Provider):
    """Command palette entries: one per area, by its name in the current language."""

    def _commands(self) -> list[tuple[str, str, Callable[[], None]]]:
        """(name, help, going there) of each area, on the shell the palette was opened from."""
        screen, app = self.screen, self.app
        if not isinstance(app, MitraApp) or app.actor is None or not isinstance(screen, _shell()):
            return []
        return [
            (t(cls.TITLE), t("palette.go_to", area=t(cls.TITLE)), functools.partial(screen.action_area, cls.AREA_ID))
            for cls in _areas()
        ]

    async def discover(self) -> Hits:
        for name, help_text, go in self._commands():
            yield Hit(1.0, name, go, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, go in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), go, help=help_text)


class MitraApp(ServiceCaller, App):
    TITLE = "Mitra"
    CSS_PATH = "styles/app.tcss"
    COMMANDS = App.COMMANDS | {AreaCommands}
    BINDINGS = [
        Binding("f1", "help", "keys.help", id="mitra.help"),
        Binding("question_mark", "help", "keys.help", show=False, id="mitra.help_alt"),
        # Priority: Ctrl+Q quits from every screen and dialog, whatever has focus.
        Binding("ctrl+q", "quit", "keys.quit", id="mitra.quit", priority=True),
        # The demo's guided tour: on to the next step's operator, from any screen or dialog (only
        # while a tour runs).
        Binding("ctrl+t", "tour_next", "keys.tour", id="mitra.tour", priority=True),
        # As in every full-screen terminal program: draw the whole screen again, for a terminal
        # that something else wrote over (a system message, noise on the line).
        Binding("ctrl+l", "redraw", "keys.redraw", show=False, id="mitra.redraw", priority=True),
    ]

    def __init__(
        self,
        db: Database | None = None,
        *,
        open_database: Callable[[], Awaitable[Database]] | None = None,
        demo: bool = False,
        demo_operators: list[tuple[str, str]] | None = None,
        theme: str = "default",
        handed: Handed | None = None,
        sandbox: str | None = None,
        tour: bool = False,
    ) -> None:
        """On an open `db`, or on the one `open_database` opens behind the login screen. With
        `handed` (an SSH login the server checked, tui/ssh_handoff.py) the console logs that
        operator in by key once the database is open. With `tour` (a demo's), the guided tour
        begins once it is open (screens/tour.py)."""
        super().__init__()
        self._when_idle: Timer | None = None  # one wake-up, a second after the last key or click
        # No sliding underlines or smooth scrolls: over a field link every animation frame is
        # bytes on the wire (about 7 KB per area switch at 80x24; bench/field_link.py).
        # $TEXTUAL_ANIMATIONS still chooses, for whoever wants them back.
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            self.animation_level = "none"
        # Over a field link (SSH, a browser) a blinking text cursor is a repaint twice a second
        # while the operator reads (about 110 bytes each): the cursor stands still there.
        self.still_cursor = where_from()[0] in ("ssh", "web")
        if (db is None) == (open_database is None):
            raise ValueError("give the console a database or a way to open one")
        self.db = db
        self._open_database = open_database
        self._opening: asyncio.Task[None] | None = None
        self._opened: asyncio.Future[Database] | None = None  # done once the database is open
        self.demo = demo
        self.demo_operators = demo_operators or []
        self.sandbox = sandbox  # a demo server's sandbox: its name stands in the DEMO badge
        self.actor: Actor | None = None
        self._theme_choice = theme
        self._handed = handed
        self._tour_requested = tour and demo
        self.tour: TourState | None = None
        self._tour_timer: Timer | None = None
        self._apply_keymap_file()

    def get_driver_class(self) -> type[Driver]:
        """In a terminal on Linux or macOS, the driver whose input thread sleeps until a key
        comes (tui/quiet_driver.py); Textual's own choice elsewhere (Windows, the browser's)."""
        chosen = super().get_driver_class()
        if chosen.__module__ == "textual.drivers.linux_driver":
            from tui.quiet_driver import QuietDriver

            return QuietDriver
        return chosen

    def on_mount(self) -> None:
        self.theme = THEMES.get(self._theme_choice, THEMES["default"])
        self.push_screen(LoginScreen(self.demo_operators))
        self.screen_change_signal.subscribe(self, self._give_tour_panel)
        self._opened = asyncio.get_running_loop().create_future()
        # A hung-up terminal (an SSH client gone, `mitra serve ssh` ending the connection) ends the
        # console as quitting does: its session is logged out, not left open.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        # After the first paint: loading the store in a thread competes with painting for the GIL.
        self.call_after_refresh(lambda: setattr(self, "_opening", asyncio.create_task(self._open())))

    async def _open(self) -> None:
        """Load the store and open the database after the first paint; the console's first
        service call waits for it (`database`). When it cannot open, the console ends with the
        reason in one line, as the command line would."""
        opened = self._opened
        assert opened is not None  # made on mount, before the first paint that starts this
        try:
            if self.db is None:
                assert self._open_database is not None  # given whenever the database is not (__init__)
                await asyncio.to_thread(lambda: [importlib.import_module(name) for name in BEHIND_THE_LOGIN])
                self.db = await self._open_database()
                for bar in self.screen.query(StatusBar):
                    bar.refresh_text()
        except MitraError as error:
            opened.set_exception(error)
            self.exit(return_code=1, message=describe_error(error))
            return
        opened.set_result(self.db)
        if self._handed is not None:
            self.run_worker(self._log_in_by_key(self._handed), group="login", exit_on_error=False)
        self.run_worker(self._check_guards(), group="guards")
        if self._tour_requested:
            self.start_tour()
        self.run_worker(asyncio.to_thread(importlib.import_module, "screens.shell"), group="preload")

    async def _log_in_by_key(self, handed: Handed) -> None:
        """The SSH server's operator, straight into the shell; refused (key removed or operator
        deactivated meanwhile), the login screen says why and stays."""
        from store.services import operators

        self._handed = None  # once: logging out returns to the password login
        try:
            db = await self.database()  # open: this runs once it is
            actor = await operators.login_by_key(db, handed.username, handed.fingerprint, handed.peer, handed.method)
        except MitraError as error:
            self.notify(describe_error(error), severity="error", timeout=30)
            return
        self.logged_in(actor)

    async def database(self) -> Database:
        """The open database, once it is open."""
        if self.db is not None and self._opened is not None and self._opened.done():
            return self.db
        if self._opened is None:
            raise RuntimeError("the console is not mounted yet")
        return await asyncio.shield(self._opened)

    async def _check_guards(self) -> None:
        """Say loudly, and keep saying, when the database lost a guard trigger (see store/guards.py)."""
        from store.services.audit_log import guard_check

        try:
            missing = await guard_check(await self.database())
        except MitraError:
            return  # an unreachable database is the login screen's to explain
        if missing:
            self.notify(
                t("shell.guards_missing", guards=", ".join(missing)), title=t("shell.guards_title"),
                severity="error", timeout=24 * 3600,
            )

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.still_cursor and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._collect_once_idle()
        # The login screen reads credentials in arrival order, ahead of Textual's focus moves
        # (a burst of keys over SSH must not pour the password into the user name).
        if isinstance(event, events.Key) and isinstance(self.screen, LoginScreen) and self.screen.take_key(event):
            return
        if isinstance(event, events.Key) and event.key in ("tab", "shift+tab") and self._move_focus_now(event.key):
            return
        await super().on_event(event)

    def _collect_once_idle(self) -> None:
        """The older garbage waits while the operator works (tui/heap.py): it is collected once
        the console has had no key or click for a second. One timer, started again by each
        input, so that an idle console wakes once for it and then sleeps (tui/quiet_driver.py)."""
        if self._when_idle is not None:
            self._when_idle.stop()
        self._when_idle = self.set_timer(heap.IDLE_FOR, heap.collect_older_garbage)

    def _move_focus_now(self, key: str) -> bool:
        """Tab moves the focus the moment it is read, before the keys behind it are handed out.
        Textual moves it only once the focused widget has passed the key up, and a burst over
        SSH or from a password manager (`12.5<Tab>10<Enter>` into a form) would by then have
        poured the next field's keys into the old one. A widget that types its own Tab (a text
        area that indents) keeps it."""
        focused = self.focused
        if getattr(focused, "tab_behavior", "focus") == "indent":
            return False
        if key == "tab":
            self.screen.focus_next()
        else:
            self.screen.focus_previous()
        return True

    async def on_unmount(self) -> None:
        # Quitting ends the operator's session; pooled connections belong to this event loop:
        # close them before it ends.
        await self._end_own_session()
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        if self.db is not None:
            await self.db.dispose()

    async def _end_own_session(self) -> None:
        actor, self.actor = self.actor, None
        # Not `database()`: quitting must not wait for a database still opening (nobody logged in
        # to it yet, then).
        if actor is not None and actor.session_token is not None and self.db is not None:
            from store.services import sessions

            try:
                await sessions.log_out(self.db, actor)
            except MitraError:
                pass  # ended by an admin already, or the database is gone: nothing to record

    def _apply_keymap_file(self) -> None:
        """Operators may remap keys by binding id in ~/.config/mitra/keymap.toml."""
        if KEYMAP_FILE.exists():
            try:
                with KEYMAP_FILE.open("rb") as handle:
                    self.set_keymap({str(k): str(v) for k, v in tomllib.load(handle).items()})
            except (OSError, tomllib.TOMLDecodeError):
                pass  # a broken keymap must not stop the console; the defaults apply

    # --- session -------------------------------------------------------------------------

    def logged_in(self, actor: Actor) -> None:
        self.actor = actor
        self.switch_screen(_shell()())
        self.call_after_refresh(heap.set_aside_what_is_loaded)

    def session_ended(self, error: MitraError) -> None:
        """Deactivated, roles changed or session ended by an admin: say so and go back to login."""
        self.notify(describe_error(error), title=t("shell.session_ended_title"), severity="error", timeout=30)
        self.actor = None
        self.call_later(self._back_to_login)

    def action_logout(self) -> None:
        self.run_worker(self._end_own_session(), group="logout", exit_on_error=False)  # takes the actor away
        self.call_later(self._back_to_login)

    async def _back_to_login(self) -> None:
        await self._drop_screens_of_the_operator()
        await self.switch_screen(LoginScreen(self.demo_operators))

    async def _drop_screens_of_the_operator(self) -> None:
        """Every screen the operator opened goes, not only the top one: nothing of theirs (a shell
        with their data, a review half done) may wait under the next operator's login."""
        while len(self.screen_stack) > 2:  # the base screen and the one the login replaces
            await self.pop_screen()

    # --- errors --------------------------------------------------------------------------

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """A notification shown as written: its sentence may carry a name or a note, which Textual
        would read as markup, and a control character, which the terminal would (see
        tui/widgets/plain.py); Mitra's catalogs hold no markup. `markup` is taken and left aside,
        since a widget's `notify` always passes it."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=False)

    def show_error(self, error: MitraError) -> None:
        """Every error reaches the operator as a sentence; the console keeps running."""
        if isinstance(error, Stopped):  # stopped as the operator asked: said, but not as an error
            self.notify(describe_error(error), title=t("shell.stopped_title"), severity="warning", timeout=10)
            return
        title = t("shell.connection_title") if isinstance(error, DatabaseUnavailable) else t("shell.error_title")
        self.notify(describe_error(error), title=title, severity="error", timeout=10)

    # --- help, language, theme -------------------------------------------------------------

    def action_redraw(self) -> None:
        """Every cell again: the terminal driver forgets what it believed the screen showed
        (tui/unchanged_spans.py), and the whole screen is painted."""
        forget = getattr(self._driver, "forget_screen", None)
        if forget is not None:
            forget()
        self.screen.refresh()

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        rows = []
        area_classes = _areas()
        area_titles = {cls.TITLE for cls in area_classes}  # listed once, below
        seen = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            # The view's own keys, translated; widgets' generic keys (cursor, page, copy ...)
            # carry English words, not catalog keys, and are left to the widgets' own hints.
            description = FOOTER_BUILTIN.get(binding.description, binding.description)
            if not has_text(description) or description in area_titles or binding.action in seen:
                continue
            seen.add(binding.action)
            rows.append((self.get_key_display(binding), t(description)))
        areas = [(str(n), t(cls.TITLE)) for n, cls in enumerate(area_classes, 1)]
        self.push_screen(HelpScreen(rows, areas))

    def switch_language(self, language: str | None = None) -> None:
        if language is None:
            language = LANGUAGES[(LANGUAGES.index(current_language()) + 1) % len(LANGUAGES)]
        set_language(language)
        for screen in self.screen_stack:
            relabel = getattr(screen, "relabel", None)
            if relabel:
                relabel()
        self.notify(t("shell.language_changed"))

    def show_debug_info(self) -> None:
        from screens.debug_info import DebugInfoScreen

        self.push_screen(DebugInfoScreen())

    def switch_theme(self) -> None:
        self.theme = THEMES["ansi"] if self.theme == THEMES["default"] else THEMES["default"]

    def get_system_commands(self, screen: Screen):
        # Textual's own entries are English only and offer every theme it knows ("Theme" beside
        # ours): the console lists its own, in the operator's language.
        yield SystemCommand(t("palette.help"), t("palette.help_help"), self.action_help)
        yield SystemCommand(t("palette.screenshot"), t("palette.screenshot_help"),
                            lambda: self.set_timer(0.1, self.deliver_screenshot))
        yield SystemCommand(t("palette.quit"), t("palette.quit_help"), self.action_quit)
        yield SystemCommand(t("palette.language"), t("palette.language_help"), self.switch_language)
        yield SystemCommand(t("palette.theme"), t("palette.theme_help"), self.switch_theme)
        yield SystemCommand(t("palette.debug_info"), t("palette.debug_info_help"), self.show_debug_info)
        if self.demo and self.tour is None:
            yield SystemCommand(t("palette.tour"), t("palette.tour_help"), self.start_tour)
        elif self.tour is not None:
            yield SystemCommand(t("palette.tour_end"), t("palette.tour_end_help"), self.end_tour)
        if self.actor is not None:
            yield SystemCommand(t("palette.logout"), t("palette.logout_help"), self.action_logout)

    # --- the demo's guided tour (screens/tour.py, store/services/tour.py) ----------------------

    def start_tour(self) -> None:
        """Begin (or begin again) the story: its mark is now, its first step's operator logs in."""
        if not self.demo:
            self.notify(t("tour.not_demo"), severity="warning")
            return
        if not self._tour_busy():
            self.run_worker(self._begin_tour(), group="tour", exit_on_error=False)

    def _tour_busy(self) -> bool:
        return any(worker.group == "tour" and not worker.is_finished for worker in self.workers)

    async def _begin_tour(self) -> None:
        from screens.tour import TourState
        from store.services import tour

        first = tour.STEPS[0].operator
        if (self.actor is None or self.actor.username != first) and not await self._switch_operator(first):
            return
        try:
            self.tour = TourState(await self.ask(tour.begin))
        except MitraError as error:
            self.show_error(error)
            return
        if self._tour_timer is None:
            self._tour_timer = self.set_interval(1.0, self._look_at_tour)
        self._give_tour_panel(self.screen)
        self.refresh_bindings()

    def end_tour(self) -> None:
        from screens.tour import TourPanel

        self.tour = None
        if self._tour_timer is not None:
            self._tour_timer.stop()
            self._tour_timer = None
        for screen in self.screen_stack:
            for panel in screen.query(TourPanel):
                panel.remove()
            if isinstance(screen, _shell()):
                screen.call_after_refresh(screen.label_tabs)
        self.refresh_bindings()

    def written(self) -> None:
        """A write of this console committed (tui/workers.py): a running tour's panel reads the
        audit trail now, so a step done moves it on at once, not at its next second."""
        if self.tour is not None:
            self._look_at_tour(newest=True)

    def _look_at_tour(self, *, newest: bool = False) -> None:
        """Read the tour's progress in a worker, one reading at a time. The second's tick leaves a
        reading under way alone (on a slow database each tick would otherwise cancel the last);
        a write's reading replaces it: one begun before the write committed, coming back last,
        would set the steps back, and the step would be announced again."""
        if not newest and any(worker.group == "tour-poll" and not worker.is_finished for worker in self.workers):
            return
        self.run_worker(self._poll_tour(), group="tour-poll", exclusive=True, exit_on_error=False)

    async def _poll_tour(self) -> None:
        """The steps done so far, read from the audit trail (as the operator at the keys)."""
        from screens.tour import step_title
        from store.services import tour

        state = self.tour
        if state is None or self.actor is None or self.db is None:
            return
        try:
            # Not through `ask`: a poll each second is no operator's read, so it neither re-checks
            # the session (the areas' own reads do) nor marks the console as in use.
            done = await tour.progress(self.db, self.actor, state.mark)
        except MitraError:
            return  # a lost connection is the areas' to explain; the tour waits
        if state is not self.tour:
            return  # ended or begun again meanwhile
        for step, was, now in zip(state.steps, state.done or [False] * len(done), done, strict=True):
            if now and not was:
                self.notify(t("tour.step_done", step=step_title(step)), timeout=6)
                state.folded = False  # what comes next is worth reading
        state.done = done
        self.show_tour()

    def _give_tour_panel(self, screen: Screen) -> None:
        """Every screen and dialog shows the panel while a tour runs: the step's keys stay in
        sight while the operator answers a confirmation (the help and the palette go without)."""
        from textual.command import CommandPalette

        from screens.tour import TourPanel

        if self.tour is None or isinstance(screen, HelpScreen | CommandPalette) or screen is self.screen_stack[0]:
            return
        if not screen.query(TourPanel):
            screen.mount(TourPanel())
        self.call_after_refresh(self.show_tour)

    def show_tour(self) -> None:
        """Each panel of the current screen shows where the tour stands, beside the area or under
        it at 80 columns (polled each second, so a resized terminal is followed too)."""
        from screens.tour import TourPanel

        if self.tour is None:
            return
        username = self.actor.username if self.actor is not None else None
        for panel in self.screen.query(TourPanel):
            panel.show(self.tour, username, self.size.width)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tour_next":
            return self.tour is not None
        return super().check_action(action, parameters)

    def action_tour_next(self) -> None:
        """Ctrl+T: log in as the demo operator the step at hand needs; as that operator, fold or
        unfold the panel (room for the work on a small terminal); once over, close the tour."""
        if self.tour is None:
            return
        needed = self.tour.operator_needed()
        if needed is None:  # the tour is over
            self.end_tour()
            return
        if self.actor is None or self.actor.username != needed:
            if not self._tour_busy():  # a login on its way is never cut short by a second Ctrl+T
                self.run_worker(self._switch_operator(needed), group="tour", exit_on_error=False)
        else:
            self.tour.folded = not self.tour.folded
            self.show_tour()

    async def _switch_operator(self, username: str) -> bool:
        """Log out and in as a demo operator, with the demo's password, as the login screen would:
        the new session and its login are recorded like any other. False when refused."""
        db = await self.database()
        await self._end_own_session()
        try:
            actor = await log_in(db, username, "demo")
        except MitraError as error:
            self.show_error(error)
            return False
        await self._drop_screens_of_the_operator()
        self.actor = actor
        await self.switch_screen(_shell()())
        return True
