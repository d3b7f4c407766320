"""The console shell under run_test: login, header, areas, language, help."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import ContentSwitcher, Label

from screens.help import HelpScreen
from screens.login import LoginScreen
from screens.shell import ShellScreen
from tests.tui_support import SIZE, console, login, settle, wait_until
from tui.i18n import set_language


def _text(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).render())


async def test_login_shows_operator_and_roles_in_the_header(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, LoginScreen)
        await login(pilot, "approver")
        assert "approver (approver)" in _text(app, "#status-operator")
        assert db.label in _text(app, "#status-db")


async def test_wrong_password_keeps_the_login_screen_with_a_message(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#username").value = "reviewer"
        screen.query_one("#password").value = "wrong"
        screen.query_one("#password").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "Wrong" in str(screen.query_one("#login-error").render()))
        assert isinstance(app.screen, LoginScreen)


async def test_number_keys_and_palette_switch_areas(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")
        switcher = app.screen.query_one("#areas", ContentSwitcher)
        assert switcher.current == "dashboard"
        app.screen.query_one("#area-tabs").focus()
        await pilot.press("7")
        await settle(pilot)
        assert switcher.current == "audit"
        await pilot.press("3")
        assert switcher.current == "platforms"
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Participants")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert switcher.current == "participants"


async def test_language_switch_translates_the_shell(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        tabs = app.screen.query_one("#area-tabs")
        assert "Payments" in str(tabs.query_one("#tab-payments").label)
        app.switch_language("id")
        await settle(pilot)
        assert "Pembayaran" in str(tabs.query_one("#tab-payments").label)
        assert "keuangan" in _text(app, "#status-operator")
        set_language("en")


async def test_an_area_is_built_when_first_shown_in_the_language_of_that_moment(db):
    from screens.payments import PaymentsArea

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        assert not app.screen.query(PaymentsArea), "only the dashboard is built at login"
        app.switch_language("id")
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        area = app.screen.query_one(PaymentsArea)
        assert app.screen.query_one("#areas", ContentSwitcher).current == "payments" and area.display
        label = area.query_one("#filter-state").query_one("SelectCurrent Static#label")
        assert str(label.render()) == "Semua status"
        assert app.focused is not None and area in app.focused.ancestors, "the area's list has the focus"
        await pilot.press("1")
        await pilot.press("6")  # shown again: the same area, not a second one
        await settle(pilot)
        assert len(app.screen.query(PaymentsArea)) == 1 and area.display
        set_language("en")


async def test_the_footer_is_rebuilt_only_when_what_it_shows_changes(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        keys = list(app.screen.query("FooterKey"))
        assert keys
        app.screen.refresh_bindings()  # what a focus change does: the same keys, so the same widgets
        await settle(pilot)
        assert list(app.screen.query("FooterKey")) == keys
        app.switch_language("id")
        await settle(pilot)
        words = " ".join(str(key.render()) for key in app.screen.query("FooterKey"))
        assert list(app.screen.query("FooterKey")) != keys and "Bantuan" in words, words
        set_language("en")


async def in_area(pilot, username: str, key: str) -> None:
    """Logged in as `username`, in the area of number `key`."""
    await login(pilot, username)
    await pilot.press(key)
    await settle(pilot)


async def test_help_lists_the_keys_of_the_current_view(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await in_area(pilot, "auditor", "7")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(static.render()) for static in app.screen.query("Static"))
        assert "Verify chain" in text and "Audit" in text
        assert "Last page of the list" in text and "end" in text.lower()  # the list's own keys too
        await pilot.press("escape")
        assert isinstance(app.screen, ShellScreen)


async def test_a_database_without_operators_says_how_to_create_the_first_admin(empty_db):
    app = console(empty_db)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "mitra operators add" in str(app.screen.query_one("#login-error").render()))


@pytest.mark.parametrize(
    "username", ["admin", "reviewer", "curator", "coordinator", "finance", "approver", "auditor", "tokopedia"]
)
async def test_every_role_visits_every_area_without_an_error(db, username):
    """Each area loads only what the operator may read; areas they may not read say so."""
    app = console(db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, username)
        areas = ["dashboard", "applications", "platforms", "providers", "participants", "payments", "audit"]
        for number, area in enumerate(areas, start=1):
            await pilot.press(str(number))
            await settle(pilot)
            assert app.screen.query_one("#areas", ContentSwitcher).current == area
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == []


async def test_end_pgup_and_home_work_in_every_areas_list(small_demo):
    """In each area's list: End shows the list's last row, PgUp goes up from it (reading the
    pages above where there are some), Home the first row; the same rows as read from the top."""
    from tui.widgets.paged_table import PagedTable

    app = console(small_demo)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, "admin")
        for number in range(2, 8):
            app.screen.query_one("#area-tabs").focus()
            await pilot.press(str(number))
            await settle(pilot)
            area = app.screen.query_one("#areas", ContentSwitcher)
            tables = area.query_one(f"#{area.current}").query(PagedTable)
            if not tables:
                continue  # the platforms' summary: a handful of rows, not a paged list
            table = tables.first()
            await wait_until(pilot, lambda table=table: table.row_count > 0)
            first = table.get_row_at(0)
            table.focus()
            await pilot.press("end")
            await wait_until(pilot, lambda table=table: table.complete or table.cursor_row == table.row_count - 1 > 0)
            await settle(pilot)
            last = table.get_row_at(table.row_count - 1)
            assert table.cursor_row == table.row_count - 1, area.current
            for _ in range(3):
                await pilot.press("pageup")
                await settle(pilot)
            await pilot.press("end")
            await settle(pilot)
            assert table.get_row_at(table.cursor_row) == last, area.current
            await pilot.press("home")
            await wait_until(pilot, lambda table=table: table.row_count > 0 and table.cursor_row == 0)
            await settle(pilot)
            assert table.get_row_at(0) == first, area.current
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors == []


async def test_the_palette_offers_each_system_command_once_in_the_operators_language(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "finance")
        for language, expected in (("en", ["Keys", "Screenshot", "Quit", "Switch language", "Switch theme", "Debug info",
                                          "Log out"]),
                                   ("id", ["Tombol", "Tangkapan layar", "Keluar", "Ganti bahasa", "Ganti tema",
                                           "Info debug", "Keluar akun"])):
            set_language(language)
            titles = [command.title for command in app.get_system_commands(app.screen)]
            assert titles == expected, titles
        set_language("en")


async def test_at_80_columns_every_area_tab_is_whole(db):
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "finance")
        labels = [str(tab.label) for tab in app.screen.query_one("#area-tabs").query("Tab")]
        assert labels == ["1 Home", "2 Apps", "3 Platforms", "4 Providers", "5 People", "6 Pay", "7 Audit"]
        assert sum(len(label) + 2 for label in labels) <= 80


async def test_a_keymap_file_remaps_the_lists_movement_keys(db, tmp_path, monkeypatch):
    # An operator's ~/.config/mitra/keymap.toml remaps by binding id, the vi keys of lists too.
    import tui.app
    from tui.widgets.paged_table import PagedTable

    keymap = tmp_path / "keymap.toml"
    keymap.write_text('"mitra.list.down" = "n"\n')
    monkeypatch.setattr(tui.app, "KEYMAP_FILE", keymap)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")
        app.screen.query_one("#area-tabs").focus()
        await pilot.press("7")
        await settle(pilot)
        table = app.screen.query_one("#audit").query_one(PagedTable)
        await wait_until(pilot, lambda: table.row_count >= 2)
        table.focus()
        await pilot.press("n")
        await settle(pilot)
        assert table.cursor_row == 1
        await pilot.press("j")  # no longer bound: the remap replaces the default key
        await settle(pilot)
        assert table.cursor_row == 1


async def test_o_orders_the_platforms_and_the_audit_log_and_the_status_line_says_so(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await in_area(pilot, "admin", "3")
        table = app.screen.query_one("#platforms-table")
        await wait_until(pilot, lambda: table.row_count > 1)
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == sorted(names, key=str.casefold)
        assert "by name" in str(app.screen.query_one("#platforms-status").render())
        await pilot.press("o")
        await wait_until(pilot, lambda: "most overdue reports first" in str(app.screen.query_one("#platforms-status").render()))
        overdue = [int(str(table.get_row_at(i)[2])) for i in range(table.row_count)]
        assert overdue == sorted(overdue, reverse=True)

        await pilot.press("7")
        await settle(pilot)
        events = app.screen.query_one("#audit-events")
        await wait_until(pilot, lambda: events.row_count > 1)
        newest = [int(str(events.get_row_at(i)[0])) for i in range(events.row_count)]
        assert newest == sorted(newest, reverse=True)
        await pilot.press("o")
        await wait_until(pilot, lambda: "oldest first" in str(app.screen.query_one("#audit-status").render()))
        oldest = [int(str(events.get_row_at(i)[0])) for i in range(events.row_count)]
        assert oldest[0] == 1 and oldest == sorted(oldest)


@pytest.mark.parametrize("origin", ["ssh", "terminal"])
async def test_over_a_field_link_the_text_cursor_stands_still(db, monkeypatch, origin):
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setenv("MITRA_ORIGIN", origin)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.screen.query_one("#username").focus()
        await pilot.pause()
        # A blinking cursor repaints twice a second: bytes on the wire while the operator reads.
        assert app.screen.query_one("#username").cursor_blink is (origin == "terminal")


async def test_the_demo_login_names_each_operator_s_roles_in_the_operator_s_language(db):
    from textual.widgets import OptionList

    from fixtures import demo_operator_list

    set_language("id")
    try:
        app = console(db, demo=True, demo_operators=demo_operator_list())
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            operators = app.screen.query_one("#demo-operators", OptionList)
            lines = [str(operators.get_option_at_index(i).prompt) for i in range(operators.option_count)]
            assert "reviewer       peninjau" in lines
            assert "tokopedia      staf platform @ tokopedia" in lines
    finally:
        set_language("en")


async def test_at_24_rows_the_demo_login_shows_its_fields_and_scrolls_its_operator_list(db):
    from textual.widgets import OptionList

    from fixtures import demo_operator_list

    app = console(db, demo=True, demo_operators=demo_operator_list())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        box = app.screen.query_one("#login-box").region
        assert box.y >= 1 and box.bottom <= 24, "the whole box, its border included, is on screen"
        assert app.screen.query_one("#username").region.y > box.y
        operators = app.screen.query_one("#demo-operators", OptionList)
        assert operators.region.height < operators.option_count
        await pilot.press(*["down"] * (operators.option_count - 1))
        assert operators.highlighted == operators.option_count - 1
        assert operators.region.bottom <= box.bottom
        await pilot.resize_terminal(130, 40)  # taller: more of the list at once
        await settle(pilot)
        assert operators.region.height > 8


async def test_logging_out_from_a_detail_screen_leaves_nothing_of_that_operator_behind(db, actors):
    from screens.applications_review import ReviewScreen
    from tests.application_support import submit

    await submit(db, actors.reviewer, brand_name="Kelas Pergi")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        app.action_logout()
        await wait_until(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert [type(screen) for screen in app.screen_stack[1:]] == [LoginScreen]
        await login(pilot, "approver")
        assert [type(screen) for screen in app.screen_stack[1:]] == [ShellScreen]
        assert app.screen.app.actor.username == "approver"


async def test_an_area_shown_again_keeps_its_rows_and_cursor_unless_the_list_changed(db, monkeypatch):
    # Clearing the list on every switch drew it empty and then full: two repaints of each line,
    # which over a field link cost more than the switch. The operator sees the same: the cursor
    # stays where it was left while nothing changed; news replaces the rows, from the top.
    from store.errors import MitraError
    from store.services import operators
    from tui.widgets.paged_table import PagedTable

    # A first page slower than STALE_FOR (a loaded machine) empties the list while it loads, as
    # it should; what is tested here is the page that arrives in time.
    monkeypatch.setattr(PagedTable, "STALE_FOR", 30.0)

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        table = await _admin_in_the_audit_area(pilot)
        shown = [str(key.value) for key in table.rows]
        table.move_cursor(row=1)
        await _press(pilot, "1", "7")
        assert [str(key.value) for key in table.rows] == shown
        assert table.cursor_row == 1, "the list was drawn again from the top though nothing changed"

        with pytest.raises(MitraError):
            await operators.login(db, "reviewer", "not the password")  # an audited event: news
        await _press(pilot, "1", "7")
        assert table.row_count == len(shown) + 1 and [str(key.value) for key in table.rows][1:] == shown
        assert table.cursor_row == 0


async def test_an_area_shown_again_whose_list_is_slow_shows_it_loading_not_old_rows(db, monkeypatch):
    # Rows shown before stay only while the reload's first page is due; a slower one (a busy
    # server) empties the list, so old rows are never read as current.
    from store.services import audit_log
    from tui.widgets.paged_table import PagedTable

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        table = await _admin_in_the_audit_area(pilot)
        await _press(pilot, "1")

        list_events = audit_log.list_events
        arrived, release = asyncio.Event(), asyncio.Event()

        async def slow_list_events(*args, **kwargs):
            await release.wait()  # the page is held until the test has looked (no race with a busy machine)
            try:
                return await list_events(*args, **kwargs)
            finally:
                arrived.set()

        monkeypatch.setattr(audit_log, "list_events", slow_list_events)
        await pilot.press("7")
        deadline = asyncio.get_running_loop().time() + PagedTable.STALE_FOR + 10
        while table.row_count and asyncio.get_running_loop().time() < deadline:
            await pilot.pause(0.05)
        assert not arrived.is_set() and table.row_count == 0, "old rows stayed while the list was loading"
        release.set()
        await settle(pilot)
        assert arrived.is_set() and table.row_count >= 2


async def _admin_in_the_audit_area(pilot):
    """Logged in as admin, in the audit area, its list loaded: the list's table."""
    from tui.widgets.paged_table import PagedTable

    await login(pilot, "admin")
    await _press(pilot, "7")
    table = pilot.app.screen.query_one("#audit-events", PagedTable)
    assert table.row_count >= 2
    return table


async def _press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
