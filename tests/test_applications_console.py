"""The Applications and Platforms areas under run_test, driven by keys, checked in the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from textual.widgets import DataTable, Input, Select

from screens.applications import ApplicationsArea
from screens.applications_form import ApplicationForm
from screens.applications_outcome import OutcomePrompt, TermsPrompt
from screens.applications_review import STEP_OF, ReviewScreen
from screens.platforms_detail import PlatformScreen, SubmissionPrompt
from screens.shell import ShellScreen
from store.models import AuditEvent, ObligationItem, Platform, PlatformApplication, Provider
from store.services import obligations
from store.uow import read_session
from tests.application_support import set_verdicts, submit
from tests.tui_support import SIZE, console, fill, login, settle, table_lines, wait_until
from tui.i18n import set_language
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.prompt import TextPrompt


async def press(pilot, *keys: str) -> None:
    """Press keys one by one, letting each key's database work finish before the next."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot, 2)


def review(app) -> ReviewScreen:
    assert isinstance(app.screen, ReviewScreen), app.screen
    return app.screen


def queue_rows(app) -> list[str]:
    table = app.screen.query_one("#applications-table")
    return [row.brand_name for row in table.rows_by_key.values()]


async def open_applications(pilot) -> None:
    await press(pilot, "2")
    area = pilot.app.screen.query_one(ApplicationsArea)
    await wait_until(pilot, lambda: area.query_one("#applications-table").row_count > 0)


async def open_first_review(pilot) -> None:
    """As reviewer: the applications queue, and its first application's review, loaded."""
    await login(pilot, "reviewer")
    await open_applications(pilot)
    await press(pilot, "enter")
    await wait_until(pilot, lambda: review(pilot.app).detail is not None)


async def test_reviewer_steps_through_three_then_an_approver_decides(db, actors):
    approve = await submit(db, actors.reviewer, brand_name="Kelas Satu", legal_name="PT Kelas Satu",
                           submitted_on="2026-10-01")
    reject = await submit(db, actors.reviewer, brand_name="Kelas Dua", legal_name="CV Kelas Dua",
                          legal_form="other_private", submitted_on="2026-10-02")
    reclassify = await submit(db, actors.reviewer, brand_name="Kelas Tiga", legal_name="PT Kelas Tiga",
                              third_party_providers="0", submitted_on="2026-10-03")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        await open_applications(pilot)
        assert queue_rows(app) == ["Kelas Satu", "Kelas Dua", "Kelas Tiga"]
        await press(pilot, "enter")
        await wait_until(pilot, lambda: review(app).detail is not None)
        assert review(app).detail.id == approve

        # 1: accept the four suggestions, pass the other three, recommend approval.
        await press(pilot, "a", "a", "p", "p", "a", "p", "a")
        assert [c.verdict for c in review(app).detail.criteria] == ["pass"] * 7
        await press(pilot, "r")
        assert isinstance(app.screen, OutcomePrompt)
        assert app.screen.query_one("#outcome-select", Select).value == "approve"
        await fill(pilot, "All seven verified")
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Approve Kelas Satu (PT Kelas Satu) as a platform partner." in str(
            app.screen.query_one("#confirm-body").render())
        await press(pilot, "y")
        await wait_until(pilot, lambda: review(app).detail.state == "recommended")
        assert review(app).check_action("verdict", ("pass",)) is False  # no more verdicts once recommended

        # 2: criterion 1 fails (a CV): the note is asked for; recommend rejection.
        await press(pilot, "n")
        await wait_until(pilot, lambda: review(app).detail is not None and review(app).detail.id == reject)
        await press(pilot, "a")
        assert isinstance(app.screen, TextPrompt)  # accepting "fail" needs a note
        await fill(pilot, "A CV, not a PT")
        await press(pilot, "enter", "a", "p", "p", "a", "p", "a")
        assert [c.verdict for c in review(app).detail.criteria] == ["fail"] + ["pass"] * 6
        await press(pilot, "r")
        assert app.screen.query_one("#outcome-select", Select).value == "reject"
        await fill(pilot, "Legal form not eligible")
        await press(pilot, "enter", "y")
        await wait_until(pilot, lambda: review(app).detail.state == "recommended")
        assert review(app).detail.reject_reason == "criteria_not_met"

        # 3: sells only its own courses: criterion 7 fails, recommend reclassification.
        await press(pilot, "n")
        await wait_until(pilot, lambda: review(app).detail is not None and review(app).detail.id == reclassify)
        await press(pilot, "a", "a", "p", "p", "a", "p", "a")
        assert isinstance(app.screen, TextPrompt)
        await fill(pilot, "Only its own group's courses")
        await press(pilot, "enter")
        assert review(app).detail.criteria[6].verdict == "fail"
        assert review(app).check_action("decide", ()) is False  # a reviewer is not offered the decision
        await press(pilot, "r")
        assert app.screen.query_one("#outcome-select", Select).value == "reclassify"
        await fill(pilot, "A training provider, not a marketplace")
        await press(pilot, "enter", "y")
        await wait_until(pilot, lambda: review(app).detail.state == "recommended")
        await press(pilot, "escape")
        assert isinstance(app.screen, ShellScreen)

        # The approver logs in: the three recommendations wait for them.
        app.action_logout()
        await settle(pilot)
        await login(pilot, "approver")
        await open_applications(pilot)
        assert queue_rows(app) == ["Kelas Satu", "Kelas Dua", "Kelas Tiga"]
        await press(pilot, "enter")
        await wait_until(pilot, lambda: review(app).detail is not None)
        assert review(app).check_action("verdict", ("pass",)) is False  # not offered to an approver
        for expected_outcome, note in (("approve", "Agreed"), ("reject", "Agreed, not a PT"),
                                       ("reclassify", "Agreed, provider")):
            await press(pilot, "d")
            assert app.screen.query_one("#outcome-select", Select).value == expected_outcome
            await fill(pilot, note)
            await press(pilot, "enter")
            if expected_outcome == "approve":
                await enter_terms_from_the_signed_agreement(pilot)
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            body = str(app.screen.query_one("#confirm-body").render())
            if expected_outcome == "approve":
                assert f"code kelassatu, agreement PKS-PMO/123/X/2026 dated {dt.date.today()}" in body
                assert "commission cap 12.50 %" in body
            await press(pilot, "y")
            await wait_until(pilot, lambda: review(app).detail.decided)
            await press(pilot, "n")
        assert review(app).check_action("decide", ()) is False  # decided: nothing left to decide

    async with read_session(db) as session:
        states = dict((await session.execute(select(PlatformApplication.id, PlatformApplication.state))).all())
        platform = (await session.execute(select(Platform).where(Platform.code == "kelassatu"))).scalar_one()
        items = (await session.execute(select(ObligationItem.id).where(ObligationItem.platform_id == platform.id))).all()
        provider = (await session.execute(select(Provider).where(Provider.name == "Kelas Tiga"))).scalar_one()
        trail = (await session.execute(
            select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.operator_name)
            .where(AuditEvent.entity == "platform_application").order_by(AuditEvent.id)
        )).all()
    assert states == {approve: "approved", reject: "rejected", reclassify: "reclassified"}
    assert platform.status == "active" and platform.name == "Kelas Satu"
    assert (platform.agreement_number, platform.agreement_date, platform.commission_cap_bp) == (
        "PKS-PMO/123/X/2026", dt.date.today(), 1250)
    assert len(items) == 10
    assert provider.state == "inventoried"
    for application_id in (approve, reject, reclassify):
        actions = [(action, who) for entity_id, action, who in trail if entity_id == str(application_id)]
        assert actions == [
            ("application.submitted", "reviewer"), ("application.review_started", "reviewer"),
            *[("application.criterion_set", "reviewer")] * 7,
            ("application.recommended", "reviewer"), ("application.decided", "approver"),
        ]


async def enter_terms_from_the_signed_agreement(pilot) -> None:
    """The terms prompt comes prefilled with proposed terms; the approver types the signed ones,
    and a malformed date is refused in place before anything is written."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, TermsPrompt))
    prompt = app.screen
    assert prompt.query_one("#terms-code", Input).value == "kelassatu"
    assert prompt.query_one("#terms-commission_cap", Input).value == "15"
    prompt.query_one("#terms-agreement_number", Input).value = "PKS-PMO/123/X/2026"
    prompt.query_one("#terms-agreement_date", Input).value = "28-10-2026"
    prompt.query_one("#terms-commission_cap", Input).value = "12,5"
    prompt.query_one("#terms-code", Input).focus()
    await press(pilot, "enter", "enter", "enter", "enter")
    assert app.screen is prompt
    assert "Agreement date" in str(prompt.query_one(".prompt-error").render())
    assert app.focused is prompt.query_one("#terms-agreement_date")
    prompt.query_one("#terms-agreement_date", Input).value = dt.date.today().isoformat()
    await press(pilot, "enter", "enter")


async def test_queue_opens_on_the_roles_work_and_filters_by_name(db, actors):
    await submit(db, actors.reviewer, brand_name="Alfa Kursus")
    await submit(db, actors.reviewer, brand_name="Beta Kelas")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        await press(pilot, "2")
        area = app.screen.query_one(ApplicationsArea)
        assert "waiting for you" in str(area.query_one("#applications-filter").render())
        assert queue_rows(app) == []  # nothing recommended yet
        area.query_one("#applications-table").focus()
        await press(pilot, "f")  # all states
        await wait_until(pilot, lambda: len(queue_rows(app)) == 2)
        await press(pilot, "slash")
        assert isinstance(app.focused, Input)
        await fill(pilot, "bet")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: queue_rows(app) == ["Beta Kelas"])
        assert area.check_action("new", ()) is False  # approvers do no intake


async def test_a_new_application_is_entered_in_the_form(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        await press(pilot, "2")
        app.screen.query_one("#applications-table").focus()
        await press(pilot, "c")
        form = app.screen
        assert isinstance(form, ApplicationForm)
        values = {
            "legal_name": "PT Form Baru", "brand_name": "Form Baru", "nib": "12345", "npwp": "012345678901000",
            "portal_url": "https://formbaru.id", "provinces": "31 32", "third_party_providers": "3",
        }
        for name, value in values.items():
            form.query_one(f"#form-{name}", Input).value = value
        await press(pilot, "ctrl+s")
        await wait_until(pilot, lambda: "NIB" in str(form.query_one("#form-error").render()))
        assert app.focused is form.query_one("#form-nib")
        form.query_one("#form-nib", Input).value = "9300000000001"
        await press(pilot, "ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.detail is not None)
        assert review(app).detail.brand_name == "Form Baru"
        assert {c.number: c.suggested for c in review(app).detail.criteria if c.suggested}[2] == "fail"


async def test_platforms_area_shows_overdue_reports_and_records_a_submission(db, actors):
    today = dt.date.today()
    await obligations.roll_forward(db, actors.admin, today, start=today.replace(day=1) - dt.timedelta(days=70))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        await press(pilot, "3")
        table = app.screen.query_one("#platforms-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        overdue_before = int(str(table.get_row_at(0)[2]))
        assert overdue_before >= 10  # at least one past period's ten reports, none delivered
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, PlatformScreen)
        await wait_until(pilot, lambda: screen.calendar is not None)
        calendar = screen.query_one("#calendar", DataTable)
        calendar.move_cursor(row=0, column=1)  # the oldest period shown: overdue
        await settle(pilot)
        assert screen.selected_item().status == "overdue"
        await press(pilot, "s")
        assert isinstance(app.screen, SubmissionPrompt)
        await fill(pilot, "TKP-001")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: screen.selected_item() is not None and screen.selected_item().submitted_on)
        assert screen.selected_item().status == "late"
        assert screen.check_action("record", ()) is None  # already recorded
        await press(pilot, "escape")
        await wait_until(pilot, lambda: int(str(table.get_row_at(0)[2])) == overdue_before - 1)


async def test_at_80_columns_the_calendar_keeps_each_row_s_obligation_in_view(db, actors):
    today = dt.date.today()
    await obligations.roll_forward(db, actors.admin, today, start=today.replace(day=1) - dt.timedelta(days=160))
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tokopedia")
        await press(pilot, "3", "enter")
        screen = app.screen
        assert isinstance(screen, PlatformScreen)
        await wait_until(pilot, lambda: screen.calendar is not None)
        calendar = screen.query_one("#calendar", DataTable)
        calendar.move_cursor(row=0, column=len(calendar.columns) - 1)  # the newest period, at the right
        await settle(pilot)
        # More periods than the width holds: the table scrolls, the obligation's name stays.
        assert "Inventory providers" in table_lines(calendar, 2)[1]


async def test_admin_suspends_a_platform_with_a_reason(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        await press(pilot, "3")
        table = app.screen.query_one("#platforms-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 8)
        area = app.screen.query_one("#platforms")
        assert area.check_action("reinstate", ()) is None  # the first platform is active
        await press(pilot, "s")
        assert isinstance(app.screen, TextPrompt)
        await fill(pilot, "Budget reports missing")
        await press(pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen)
        await press(pilot, "y")
        await wait_until(pilot, lambda: str(table.get_row_at(0)[1]) == "suspended")
    async with read_session(db) as session:
        platform = (await session.execute(select(Platform).where(Platform.code == "bukalapak"))).scalar_one()
    assert (platform.status, platform.status_reason) == ("suspended", "Budget reports missing")


async def test_suspend_is_not_offered_to_other_roles(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        await press(pilot, "3")
        area = app.screen.query_one("#platforms")
        assert area.check_action("suspend", ()) is False and area.check_action("roll", ()) is False


async def test_review_screen_speaks_the_chosen_language_and_lists_its_keys(db, actors):
    await submit(db, actors.reviewer, brand_name="Kelas Bahasa")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_review(pilot)
        title = app.screen.query_one("#review-title")
        assert "Application #" in str(title.render()) and "submitted" in str(title.render())
        await press(pilot, "f1")
        keys = " ".join(str(static.render()) for static in app.screen.query("Static"))
        assert "Accept suggestion" in keys and "Next" in keys and "Decide" not in keys
        await press(pilot, "escape")
        app.switch_language("id")
        await settle(pilot)
        try:
            assert "Pengajuan #" in str(title.render()) and "diajukan" in str(title.render())
            criteria = app.screen.query_one("#criteria", DataTable)
            assert "Bentuk badan hukum" in str(criteria.get_row_at(0)[3])
        finally:
            set_language("en")


async def test_platform_staff_get_no_applications_queue(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        await press(pilot, "2")
        # Platform staff may not read applications: the area is locked and loads nothing.
        assert "do not give access to Applications" in str(app.screen.query_one("#locked-text").render())
        assert not app.screen.query(ApplicationsArea)


async def test_recommending_approval_with_a_failed_criterion_is_refused_in_the_prompt_note_kept(db, actors):
    from tests.application_support import set_verdicts

    application_id = await submit(db, actors.reviewer, brand_name="Kelas Enam")
    await set_verdicts(db, actors.reviewer, application_id, "PPPPPFP")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_review(pilot)
        await press(pilot, "r")
        prompt = app.screen
        assert isinstance(prompt, OutcomePrompt)
        prompt.query_one("#outcome-select", Select).value = "approve"
        await fill(pilot, "Looks complete to me")
        await press(pilot, "enter")
        assert app.screen is prompt  # no confirmation promising what the store refuses
        assert "not passed: 6" in str(prompt.query_one(".prompt-error").render())
        assert prompt.query_one("#outcome-note", Input).value == "Looks complete to me"
    async with read_session(db) as session:
        stored = await session.get(PlatformApplication, application_id)
    assert stored.state == "in_review" and stored.recommendation is None


async def test_a_platform_code_already_taken_brings_the_terms_back_as_typed(db, actors):
    from tests.application_support import recommended

    application_id = await recommended(db, actors.reviewer, "PPPPPPP", "approve", brand_name="Kelas Tujuh")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "approver")
        await open_applications(pilot)
        await press(pilot, "enter")
        await wait_until(pilot, lambda: review(app).detail is not None)
        await press(pilot, "d")
        await fill(pilot, "Agreed")
        await press(pilot, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TermsPrompt))
        prompt = app.screen
        prompt.query_one("#terms-code", Input).value = "tokopedia"  # a seeded platform's code
        prompt.query_one("#terms-agreement_number", Input).value = "PKS-PMO/777/XII/2026"
        prompt.query_one("#terms-commission_cap", Input).focus()
        await press(pilot, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await press(pilot, "y")
        await wait_until(pilot, lambda: isinstance(app.screen, TermsPrompt))
        again = app.screen
        assert again.query_one("#terms-code", Input).value == "tokopedia"
        assert again.query_one("#terms-agreement_number", Input).value == "PKS-PMO/777/XII/2026"
        assert str(again.query_one(".prompt-error").render()) != ""
        assert app.focused is again.query_one("#terms-code")
    async with read_session(db) as session:
        stored = await session.get(PlatformApplication, application_id)
    assert stored.state == "recommended"


async def test_stepping_on_withdraws_the_keys_until_the_next_application_is_loaded(db, actors):
    # The keys follow the application on screen: while the next one loads, the one just left must
    # not lend it its own (recommending, say, would act on nothing).
    from tests.application_support import set_verdicts

    first = await submit(db, actors.reviewer, brand_name="Kelas Satu")
    await set_verdicts(db, actors.reviewer, first, "PPPPPPP")
    await submit(db, actors.reviewer, brand_name="Kelas Dua")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_review(pilot)
        screen = review(app)
        offered = {action for action in STEP_OF if screen.check_action(action, ())}
        assert "recommend" in offered
        screen.action_step(1)  # the next application is on its way, not here yet
        assert screen.detail is None
        assert not any(screen.check_action(action, ()) for action in offered)
        await wait_until(pilot, lambda: screen.detail is not None)
        assert screen.detail.brand_name == "Kelas Dua"
        assert screen.check_action("verdict", ()) and not screen.check_action("recommend", ())


async def test_at_80x24_the_review_shows_the_selected_criterion_in_full(db, actors):
    await submit(db, actors.reviewer, brand_name="Kelas Bahasa")
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first_review(pilot)
        await press(pilot, "down")
        # The criteria table cuts long names at 80 columns; the panel under it names the criterion
        # the cursor is on, whole, and a short history leaves it the rows to do so.
        help_panel = app.screen.query_one("#criterion-help")
        assert "2." in str(help_panel.render())
        assert help_panel.region.bottom <= app.screen.query_one("#history").region.y
        assert help_panel.region.height >= 4


async def test_at_160x48_the_next_application_keeps_every_panel_in_its_place(db, actors):
    # From an application only submitted to one with notes on every criterion, a longer history,
    # fewer provinces and a long text: values change in place, and nothing moves (over a field
    # link only the changed characters are then sent).
    first = await submit(db, actors.reviewer, brand_name="Kelas Satu", submitted_on="2026-10-01")
    second = await submit(db, actors.reviewer, brand_name="Kelas Dua", provinces="11 12 31 32", submitted_on="2026-10-02",
                          payment_integration="Paid through the program's API, live since July; " * 3)
    await set_verdicts(db, actors.reviewer, second, "PFPPPPF")
    app = console(db)
    async with app.run_test(size=(160, 48)) as pilot:
        await login(pilot, "reviewer")
        await open_applications(pilot)
        await press(pilot, "enter")
        await wait_until(pilot, lambda: review(app).detail is not None and review(app).detail.id == first)
        panels = ("#applicant", "#criteria", "#history")  # the rule's panel grows by the note and who set it
        before = [app.screen.query_one(panel).region for panel in panels]
        await press(pilot, "n")
        await wait_until(pilot, lambda: review(app).detail is not None and review(app).detail.id == second)
        assert [app.screen.query_one(panel).region for panel in panels] == before
        applicant = str(app.screen.query_one("#applicant-data").render()).splitlines()
        # The provinces: a slot for each of the 38, the absent ones shown as "··".
        assert applicant[6].split() == ["11", "12"] + ["··"] * 8 + ["31", "32"] + ["··"] * 26
        assert applicant[-1].startswith("Payment integration: Paid through")  # the free text last
        history = table_lines(app.screen.query_one("#history"), 2)
        assert "Verdict" in history[1] and "7: ✗ fail" in history[1]  # the newest first
