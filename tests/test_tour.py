"""The demo's guided tour: its steps are read from the audit trail since the tour began
(store/services/tour.py), and the console walks an operator through the whole story, switching
demo operator with Ctrl+T where the story needs another role (screens/tour.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import Input, Select

from fixtures import demo_operator_list
from fixtures.template import CACHE_ENV
from screens.applications_review import ReviewScreen
from screens.participants_forms import FormScreen as WaveFormScreen
from screens.participants_forms import JobScreen, ListingPickerScreen
from screens.participants_waves import WavesScreen
from screens.payments_batch import BatchScreen
from screens.payments_prepare import PrepareScreen
from screens.provider_course import CourseScreen
from screens.provider_forms import FormScreen
from screens.provider_screen import ProviderScreen
from screens.shell import ShellScreen
from screens.tour import TourPanel
from store.models import AuditEvent, Participant, PaymentBatch, Wave
from store.services import tour
from store.uow import read_session, unit_of_work
from tests.cli_support import DEMO_PARTICIPANTS, DEMO_SEED
from tests.tui_support import SIZE, settle, wait_until
from tui.app import MitraApp
from tui.commands.console import _copy_of_template
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable


async def _record(db, actor, action: str, entity: str, entity_id) -> None:
    async with unit_of_work(db, actor) as uow:
        uow.audit(action, entity, entity_id)


async def test_steps_follow_the_log_after_the_mark_in_order(db, actors):
    await _record(db, actors.reviewer, "application.recommended", "platform_application", 1)
    mark = await tour.begin(db, actors.admin)
    # What happened before the tour began does not count.
    assert await tour.progress(db, actors.admin, mark) == [False] * len(tour.STEPS)
    await _record(db, actors.curator, "listing.created", "course_listing", 7)
    done = await tour.progress(db, actors.admin, mark)
    assert done[2] and tour.current(done) == 0, "a later step done early skips nothing"
    await _record(db, actors.reviewer, "application.recommended", "platform_application", 2)
    await _record(db, actors.approver, "application.decided", "platform_application", 2)
    assert tour.current(await tour.progress(db, actors.admin, mark)) == 3
    await _record(db, actors.coordinator, "wave.selected", "wave", 3)
    assert tour.current(await tour.progress(db, actors.admin, mark)) == 3, "selecting alone is half the step"
    await _record(db, actors.coordinator, "enrollment.assigned", "enrollment", 11)
    assert tour.current(await tour.progress(db, actors.admin, mark)) == 4


async def test_the_approvals_count_only_on_a_batch_prepared_and_submitted_in_the_tour(db, actors):
    await _record(db, actors.finance, "payment_batch.prepared", "payment_batch", 5)
    mark = await tour.begin(db, actors.admin)
    await _record(db, actors.finance, "payment_batch.submitted", "payment_batch", 5)
    await _record(db, actors.approver, "payment_batch.approval_given", "payment_batch", 5)
    done = await tour.progress(db, actors.admin, mark)
    assert done[4:7] == [False, False, False], "a batch prepared before the tour is not the tour's"
    await _record(db, actors.finance, "payment_batch.prepared", "payment_batch", 6)
    assert (await tour.progress(db, actors.admin, mark))[4] is False, "prepared but not yet submitted"
    await _record(db, actors.finance, "payment_batch.submitted", "payment_batch", 6)
    await _record(db, actors.approver, "payment_batch.approval_given", "payment_batch", 6)
    await _record(db, actors.approver2, "payment_batch.approved", "payment_batch", 6)
    assert (await tour.progress(db, actors.admin, mark))[4:7] == [True, True, True]


# --- the console walks the whole story --------------------------------------------------------


async def test_at_80_columns_the_panel_lies_under_the_area_and_folds_away(db):
    app = MitraApp(db, demo=True, tour=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ShellScreen) and app.screen.query(TourPanel)
                         and "A reviewer checks" in panel_text(app), timeout=15)
        panel = app.screen.query_one(TourPanel)
        assert panel.region.width == 80 and panel.region.y > 10  # under the area, not beside it
        labels = [str(tab.label) for tab in app.screen.query_one("#area-tabs").query("Tab")]
        assert labels[-1] == "7 Audit", "every area tab stays whole"
        await press(pilot, "ctrl+t")  # the reviewer is at the keys: the panel folds to one line
        assert "Ctrl+T shows the step again" in panel_text(app) and "On each of the 7 criteria" not in panel_text(app)
        assert panel.region.height <= 4
        await press(pilot, "ctrl+t")
        assert "On each of the 7 criteria" in panel_text(app)
        # Wider again: beside the area.
        await pilot.resize_terminal(130, 40)
        await wait_until(pilot, lambda: panel.region.width == TourPanel.WIDTH and panel.region.height > 30)


@pytest.fixture
async def demo_db(demo_cache, tmp_path, monkeypatch):
    """A session's own copy of the demo, as `mitra demo --tour` opens it (SQLite; the tour's reads
    are tested on both back ends above)."""
    monkeypatch.setenv(CACHE_ENV, str(demo_cache))
    db = await _copy_of_template(str(tmp_path / "tour.db"), DEMO_PARTICIPANTS, DEMO_SEED, fresh=False)
    yield db
    await db.dispose()


def panel_text(app) -> str:
    """The panel's text; none yet while the screen under it is still mounting it."""
    panels = app.screen.query(TourPanel)
    return str(panels.first().render()) if panels else ""


async def press(pilot, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(pilot, 2)


async def next_operator(pilot, username: str) -> None:
    """Ctrl+T: the tour logs in as the next step's demo operator."""
    app = pilot.app
    await wait_until(pilot, lambda: "Ctrl+T" in panel_text(app), timeout=15)
    await pilot.press("ctrl+t")
    await wait_until(pilot, lambda: app.actor is not None and app.actor.username == username
                     and isinstance(app.screen, ShellScreen) and app.screen.query(TourPanel), timeout=15)
    await settle(pilot)


async def step_done(pilot, number: int) -> None:
    """The panel moves on once the audit trail holds the step (polled each second)."""
    await wait_until(pilot, lambda: pilot.app.tour.done and all(pilot.app.tour.done[:number]), timeout=15)


async def answer_yes(pilot) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await press(pilot, "y")


async def type_note(pilot, text: str) -> None:
    field = pilot.app.screen.query_one("#outcome-note", Input)
    field.value = text
    field.focus()
    await press(pilot, "enter")


async def open_review(pilot, state: str) -> ReviewScreen:
    """Applications, Enter, then n until an application in `state`."""
    app = pilot.app
    await press(pilot, "2")
    await wait_until(pilot, lambda: app.screen.query_one("#applications-table").row_count > 0)
    await press(pilot, "enter")
    await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.detail is not None)
    for _ in range(10):
        if app.screen.detail.state == state:
            return app.screen
        await next_application(pilot, app.screen)
    raise AssertionError(f"no application in state {state}")


async def next_application(pilot, review: ReviewScreen) -> None:
    current = review.detail.id
    await press(pilot, "n")
    await wait_until(pilot, lambda: review.detail is not None and review.detail.id != current)


@pytest.mark.slow  # the whole story, as each role: half a minute
async def test_the_tour_walks_the_whole_story_as_each_role(demo_db):
    db = demo_db
    app = MitraApp(db, demo=True, demo_operators=demo_operator_list(), tour=True)
    async with app.run_test(size=SIZE) as pilot:
        # The tour begins as the reviewer, with its first step in the side panel.
        await wait_until(pilot, lambda: app.actor is not None and app.actor.username == "reviewer"
                         and isinstance(app.screen, ShellScreen), timeout=15)
        await wait_until(pilot, lambda: "A reviewer checks an application" in panel_text(app))
        assert "Guided tour 1/8" in panel_text(app)

        # 1. The reviewer passes all seven criteria of a new application and recommends approval.
        review = await open_review(pilot, "submitted")
        assert review.query(TourPanel), "the panel follows the operator into the review"
        # The panel moves on with the write that does the step, not at its next tick: with the
        # tick held still, the step is still seen done.
        app._tour_timer.pause()
        await press(pilot, *"ppppppp")
        await press(pilot, "r")
        await type_note(pilot, "All seven verified")
        await answer_yes(pilot)
        await step_done(pilot, 1)
        assert "Guided tour 2/8" in panel_text(app)
        app._tour_timer.resume()

        # 2. The approver rejects the recommended rejection (no agreement terms to type).
        await next_operator(pilot, "approver")
        review = await open_review(pilot, "recommended")
        while review.detail.recommendation != "reject":
            await next_application(pilot, review)
        await press(pilot, "d")
        await type_note(pilot, "Agreed")
        await answer_yes(pilot)
        await step_done(pilot, 2)

        # 3. The curator lists an approved course on a platform.
        await next_operator(pilot, "curator")
        await press(pilot, "4")
        providers = app.screen.query_one("#provider-list", PagedTable)
        await wait_until(pilot, lambda: providers.complete)
        await press(pilot, "enter")  # the first provider: approved, from Sisnaker
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        await press(pilot, "f4", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CourseScreen) and app.screen.file is not None)
        await press(pilot, "l")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-commission", Input).value = "10"
        await press(pilot, "ctrl+s")
        await answer_yes(pilot)
        await step_done(pilot, 3)

        # 4. The coordinator selects the open wave, then assigns a course to one of those selected.
        await next_operator(pilot, "coordinator")
        await press(pilot, "5", "w")
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves)
        waves = app.screen
        while waves.current().state != "open":
            await press(pilot, "down")
        await press(pilot, "s")
        await wait_until(pilot, lambda: isinstance(app.screen, WaveFormScreen))
        await press(pilot, "enter")  # the seed is drawn for the operator
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and not app.screen.running, timeout=20)
        await press(pilot, "escape")  # the selection's progress and result
        await wait_until(pilot, lambda: waves.current().state != "open", timeout=20)
        await press(pilot, "escape")
        async with read_session(db) as session:  # a card holder of the newest wave, yet to buy a course
            nik = (await session.execute(select(Participant.nik).join(Wave, Wave.id == Participant.wave_id).where(
                Participant.status == "selected").order_by(Wave.selected_at.desc(), Participant.id))).scalars().first()
        search = app.screen.query_one("#participant-search", Input)
        search.focus()
        search.value = nik
        await press(pilot, "enter", "down")
        await press(pilot, "a")
        await wait_until(pilot, lambda: isinstance(app.screen, ListingPickerScreen))
        picker = app.screen.query_one(PagedTable)
        await wait_until(pilot, lambda: picker.row_count > 0)
        await press(pilot, "down", "enter")
        await answer_yes(pilot)
        await step_done(pilot, 4)

        # 5. Finance prepares a batch and submits it.
        await next_operator(pilot, "finance")
        await press(pilot, "6", "p")
        await wait_until(pilot, lambda: isinstance(app.screen, PrepareScreen))
        prepare = app.screen
        await wait_until(pilot, lambda: prepare._platforms)
        for code in prepare._platforms:  # the training fees of a platform with some owed
            prepare.query_one("#prepare-platform", Select).value = code
            await settle(pilot)
            await pilot.click("#prepare-preview")
            await wait_until(pilot, lambda: prepare.summary is not None)
            if prepare.summary.total_idr >= 3_000_000 and not prepare.summary.payee_missing:
                break  # the demo's office wants two approvers from Rp3,000,000
        await pilot.click("#prepare-create")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None)
        batch_id = app.screen.detail.batch.id
        await press(pilot, "s")
        await answer_yes(pilot)
        await step_done(pilot, 5)

        # 6 and 7. Two approvers, one after the other: four eyes, shown.
        for number, approver in ((6, "approver"), (7, "approver2")):
            await next_operator(pilot, approver)
            await press(pilot, "6")
            table = app.screen.query_one("#batches", PagedTable)
            await wait_until(pilot, lambda table=table: table.row_count > 0)
            table.focus()
            while table.selected_row().id != batch_id:
                await press(pilot, "down")
            await press(pilot, "enter")
            await wait_until(pilot, lambda: isinstance(app.screen, BatchScreen) and app.screen.detail is not None)
            await press(pilot, "a")
            await answer_yes(pilot)
            await step_done(pilot, number)

        # 8. The auditor verifies the chain; the tour is over.
        await next_operator(pilot, "auditor")
        await press(pilot, "7", "v")
        await step_done(pilot, 8)
        await wait_until(pilot, lambda: "The tour is complete" in panel_text(app))
        await press(pilot, "ctrl+t")
        assert app.tour is None and not app.screen.query(TourPanel)

    async with read_session(db) as session:
        batch = await session.get(PaymentBatch, batch_id)
        operators = [row for row in (await session.execute(
            select(AuditEvent.operator_name).where(AuditEvent.action == "operator.login")
            .order_by(AuditEvent.id))).scalars()]
    assert batch.state == "approved"
    # Every switch was a real login of the demo operator the step needed.
    assert operators[-8:] == ["reviewer", "approver", "curator", "coordinator", "finance", "approver",
                              "approver2", "auditor"]
