"""What the shell looks like (pytest-textual-snapshot). Update with `--snapshot-update` after an
intended visual change, and look at the report before committing."""

from __future__ import annotations

import shutil

import pytest

from store.engine import create_database
from tests.tui_support import SIZE, login, settle
from tui.app import MitraApp
from tui.i18n import set_language


@pytest.fixture
def office_db(templates, tmp_path):
    # A fixed file name: the header shows it.
    path = tmp_path / "office.db"
    shutil.copyfile(templates.sqlite["seeded"], path)
    return create_database(str(path))


def test_login_screen(snap_compare, office_db):
    assert snap_compare(MitraApp(office_db), terminal_size=SIZE)


def test_demo_login_lists_the_demo_operators(snap_compare, office_db):
    from fixtures import demo_operator_list

    app = MitraApp(office_db, demo=True, demo_operators=demo_operator_list())
    assert snap_compare(app, terminal_size=SIZE)


def test_dashboard_of_a_reviewer(snap_compare, office_db):
    async def log_in(pilot):
        await login(pilot, "reviewer")

    assert snap_compare(MitraApp(office_db), terminal_size=SIZE, run_before=log_in)


def test_help_screen(snap_compare, office_db):
    async def open_help(pilot):
        await login(pilot, "auditor")
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(MitraApp(office_db), terminal_size=SIZE, run_before=open_help)


def test_ansi_theme(snap_compare, office_db):
    async def log_in(pilot):
        await login(pilot, "finance")

    assert snap_compare(MitraApp(office_db, theme="ansi"), terminal_size=SIZE, run_before=log_in)


NARROW = (80, 24)  # field staff's small terminals: every area must be usable here


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("area", ["1", "2", "4", "5", "6"], ids=["dashboard", "applications", "providers",
                                                               "participants", "payments"])
def test_each_area_at_80x24(snap_compare, office_db, area, language):
    async def open_area(pilot):
        await login(pilot, "admin")
        pilot.app.switch_language(language)
        await pilot.press(area)
        await settle(pilot)
        pilot.app.clear_notifications()  # "Language: Indonesian" fades on its own

    try:
        assert snap_compare(MitraApp(office_db), terminal_size=NARROW, run_before=open_area)
    finally:
        set_language("en")


def test_login_screen_at_80x24(snap_compare, office_db):
    assert snap_compare(MitraApp(office_db), terminal_size=NARROW)
