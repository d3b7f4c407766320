"""Field staff's terminals are 80x24: the areas with records in them, and the screens an operator
opens from them (an application's review, a payment batch, a provider, a participant), in both
languages (pytest-textual-snapshot; update with `--snapshot-update` after an intended change and
look at the report before committing).

The records are the demo's, built once for the module with the clock held still, and shown with
the clock still held at the same moment: dates and times on screen are the same in every run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil

import pytest
import time_machine

from store import migrate
from store.engine import create_database
from tests.conftest import cheaper_passwords
from tests.run_shared import built_once, run_folder
from tests.tui_support import login, settle, wait_until
from tui.app import MitraApp
from tui.i18n import set_language

NARROW = (80, 24)
NOW = dt.datetime(2026, 12, 4, 9, 30, tzinfo=dt.UTC)  # after the latest date in the demo's files


@pytest.fixture(scope="module")
def demo_file():
    from fixtures import build_demo

    async def build(path) -> None:
        db = create_database(str(path))
        try:
            await migrate.upgrade(db)
            await build_demo(db, participants=40, seed=5)
        finally:
            await db.dispose()

    path = run_folder() / "narrow-demo.db"

    def build_at_now() -> None:
        with time_machine.travel(NOW, tick=False), cheaper_passwords():
            asyncio.run(build(path))

    built_once("narrow-demo", build_at_now)
    return path


@pytest.fixture
def office(demo_file, tmp_path):
    path = tmp_path / "office.db"  # a fixed name: the header shows it
    shutil.copyfile(demo_file, path)
    yield create_database(str(path))
    set_language("en")


def _opens(username: str, keys: str, language: str, screen: str | None):
    """Log in, press `keys` (an area's number, then Enter for its first record) and wait until
    `screen` (a class name) is up and has loaded."""

    async def run_before(pilot) -> None:
        await login(pilot, username)
        if language != "en":
            pilot.app.switch_language(language)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if screen is not None:
            await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == screen)
        await settle(pilot)
        pilot.app.clear_notifications()  # "Language: Indonesian" fades on its own; not the screen's
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("area, username", [("3", "admin"), ("7", "auditor")], ids=["platforms", "audit"])
def test_areas_with_their_records(snap_compare, office, area, username, language):
    with time_machine.travel(NOW, tick=False):
        assert snap_compare(MitraApp(office), terminal_size=NARROW, run_before=_opens(username, area, language, None))


@pytest.mark.parametrize("language", ["en", "id"])
@pytest.mark.parametrize("username, keys, screen", [
    ("reviewer", ["2", "enter"], "ReviewScreen"),
    ("finance", ["6", "enter"], "BatchScreen"),
    ("curator", ["4", "enter"], "ProviderScreen"),
    ("coordinator", ["5", "enter"], "ParticipantScreen"),
], ids=["review", "batch", "provider", "participant"])
def test_a_record_s_own_screen(snap_compare, office, username, keys, screen, language):
    with time_machine.travel(NOW, tick=False):
        assert snap_compare(MitraApp(office), terminal_size=NARROW,
                            run_before=_opens(username, keys, language, screen))
