"""The Providers area under run_test: from a platform's inventory to a listed course, the curation
queue, decisions with reasons, live stage verdicts, listing refusals, the price-outlier report."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from textual.widgets import Checkbox, DataTable, Input, Select

from screens.curation_scheme import SchemeScreen
from screens.price_outliers import PriceOutliersScreen
from screens.provider_course import CourseScreen
from screens.provider_forms import FormScreen
from screens.provider_scorecard import ScoreTable
from screens.provider_screen import DocumentTable, ProviderScreen
from screens.shell import ShellScreen
from store.models import Course, CourseListing, Provider, ProviderDocument
from store.services import curation, providers
from store.uow import read_session
from tests import providers_support as ps
from tests.tui_support import SIZE, console, login, settle, wait_until
from tui.i18n import set_language
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.prompt import TextPrompt


def fill(screen: FormScreen, values: dict) -> None:
    for name, value in values.items():
        widget = screen.query_one(f"#field-{name}")
        if isinstance(widget, (Input, Select, Checkbox)):
            widget.value = value


async def submit_form(pilot, values: dict) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, FormScreen))
    fill(pilot.app.screen, values)
    await pilot.press("ctrl+s")
    await settle(pilot)


async def answer_yes(pilot) -> None:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    await pilot.press("y")
    await settle(pilot)


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def provider_row(db, name: str) -> Provider:
    async with read_session(db) as session:
        return (await session.execute(select(Provider).where(Provider.name == name))).scalar_one()


async def open_area(pilot) -> None:
    await pilot.press("4")
    await settle(pilot)
    await wait_until(pilot, lambda: pilot.app.screen.query_one("#provider-list", PagedTable).complete)


async def open_first_provider(pilot, username: str) -> ProviderScreen:
    """Log in, go to Providers and open the first provider of the list."""
    await login(pilot, username)
    await open_area(pilot)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, ProviderScreen) and pilot.app.screen.file is not None)
    return pilot.app.screen


async def test_from_platform_inventory_to_a_listed_course(db):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        # Platform staff inventory a provider ...
        await login(pilot, "tokopedia")
        await open_area(pilot)
        await pilot.press("n")
        await submit_form(pilot, {
            "name": "PT Pelatihan Uji Nusantara", "nib": "3171000000001", "npwp": "01.234.567.8-901.000",
            "province": "32", "address": "Jl. Asia Afrika 8, Bandung", "founded_on": "2015-06-01",
            "contact_name": "Ibu Ratna", "contact_email": "ratna@uji.co.id", "contact_phone": "081298765432",
        })
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        screen = app.screen
        assert "PT Pelatihan Uji Nusantara" in text_of(screen, "#provider-header")
        # ... tick its six documents present with the keyboard ...
        screen.query_one(DocumentTable).focus()
        for _ in range(6):
            await pilot.press("p")
            await settle(pilot)
        await wait_until(pilot, lambda: not screen.file.provider.missing_documents)
        # ... add a course and submit it ...
        await pilot.press("n")
        await submit_form(pilot, {
            "title": "Digital Marketing untuk UMKM", "category": "Pemasaran", "mode": "webinar", "hours": "12",
            "price": "900.000", "outside_price": "1000000",
        })
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and len(screen.file.courses) == 1)
        await pilot.press("f4")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CourseScreen) and app.screen.file is not None)
        await pilot.press("s")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: app.screen.file.course.state == "submitted")
        await pilot.press("escape")
        # ... and submit the provider to the office.
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen))
        await pilot.press("s")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: screen.file.provider.state == "submitted")
        await pilot.press("escape")
        app.action_logout()
        await settle(pilot)

        # A curator takes it from the queue, scores every stage and approves it.
        await login(pilot, "curator")
        await open_area(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        screen = app.screen
        assert "1 of 1" in text_of(screen, "#provider-header")
        await pilot.press("t")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: screen.file.provider.state == "in_curation")
        await pilot.press("f3")
        table = screen.query_one(ScoreTable)
        assert table.has_focus
        await pilot.press("down")  # from the stage's row to its first indicator
        for _ in range(15):  # three stages of five indicators (the provider is online only)
            await pilot.press("4")
            await settle(pilot)
        await wait_until(pilot, lambda: table.card.all_passed)
        assert "PASSED: 4.00 reaches 3.00" in str(table.get_row("stage:due_diligence"))
        await pilot.press("a")
        await submit_form(pilot, {"reason": "All stages passed with full marks"})
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and screen.file.provider.state == "approved")

        # The curator approves its course and lists it on Tokopedia at 12.5 %.
        await pilot.press("f4")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CourseScreen) and app.screen.file is not None)
        course_screen = app.screen
        await pilot.press("a")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: course_screen.file.course.state == "approved")
        await pilot.press("l")
        tokopedia = await ps.platform_id(db, "tokopedia")
        await submit_form(pilot, {"platform": tokopedia, "commission": "12.5"})
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert "sembilan ratus ribu rupiah" in text_of(confirm, "#confirm-body") or "nine hundred thousand" in text_of(confirm, "#confirm-body")
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, CourseScreen) and len(course_screen.file.listings) == 1)
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and len(screen.file.listings) == 1)

    provider = await provider_row(db, "PT Pelatihan Uji Nusantara")
    assert (provider.state, provider.nib, provider.npwp) == ("approved", "3171000000001", "012345678901000")
    async with read_session(db) as session:
        statuses = set((await session.execute(
            select(ProviderDocument.status).where(ProviderDocument.provider_id == provider.id))).scalars())
        course = (await session.execute(select(Course).where(Course.provider_id == provider.id))).scalar_one()
        listing = (await session.execute(select(CourseListing).where(CourseListing.course_id == course.id))).scalar_one()
    assert statuses == {"present"}
    assert (course.state, course.price_idr) == ("approved", 900_000)
    assert (listing.platform_id, listing.commission_bp, listing.status) == (tokopedia, 1250, "listed")
    trail = [(event.operator_name, event.action) for event in await ps.events(db) if event.action.split(".")[0]
             in ("provider", "course", "listing")]
    assert trail[0] == ("tokopedia", "provider.inventoried")
    assert trail.count(("tokopedia", "provider.document_set")) == 6
    expected_in_order = [
        ("tokopedia", "provider.inventoried"), ("tokopedia", "course.created"), ("tokopedia", "course.submitted"),
        ("tokopedia", "provider.submitted"), ("curator", "provider.curation_started"), ("curator", "provider.scored"),
        ("curator", "provider.approved"), ("curator", "course.approved"), ("curator", "listing.created"),
    ]
    positions = [trail.index(step) for step in expected_in_order]
    assert positions == sorted(positions)
    assert trail.count(("curator", "provider.scored")) == 15
    [approval] = await ps.events(db, "provider.approved")
    assert approval.reason == "All stages passed with full marks"


async def test_platform_staff_see_only_their_providers_and_cannot_curate(db, actors):
    own = await ps.submitted(db, actors, name="Lembaga Tokopedia")
    await ps.submitted(db, actors, name="Lembaga Bukalapak", platforms=("bukalapak",))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "tokopedia")
        await open_area(pilot)
        table = app.screen.query_one("#provider-list", PagedTable)
        assert [row.id for row in table.rows_by_key.values()] == [own]
        assert not app.screen.query_one("#filter-platform").display
        await pilot.press("q")  # the curation queue is not for platform staff
        await settle(pilot)
        assert isinstance(app.screen, ShellScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        screen = app.screen
        assert screen.check_action("take", ()) is False and screen.check_action("approve", ()) is False
        assert screen.query_one(ScoreTable).editable is False
        await pilot.press("f3", "down", "4")
        await settle(pilot)
    async with read_session(db) as session:
        assert (await session.get(Provider, own)).state == "submitted"
    assert await ps.events(db, "provider.scored") == []


async def test_rejecting_asks_for_a_reason_then_confirms(db, actors):
    provider_id = await ps.submitted(db, actors, name="Lembaga Kilat")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_provider(pilot, "curator")
        await pilot.press("x")
        await submit_form(pilot, {"reason": "   "})
        assert isinstance(app.screen, FormScreen)
        assert "Reason is required" in text_of(app.screen, "#form-error")
        await submit_form(pilot, {"reason": "Company deed could not be verified"})
        body = text_of(app.screen, "#confirm-body")
        assert "Reject Lembaga Kilat" in body and "Company deed could not be verified" in body
        await answer_yes(pilot)
        await wait_until(pilot, lambda: screen.file.provider.state == "rejected")
        await pilot.press("f6")
        history = screen.query_one("#history")
        assert "Rejected" in [str(cell) for cell in history.get_row_at(0)]
    [event] = await ps.events(db, "provider.rejected", provider_id)
    assert (event.operator_name, event.reason) == ("curator", "Company deed could not be verified")


async def test_saying_no_at_the_confirmation_changes_nothing(db, actors):
    provider_id = await ps.approved(db, actors, name="Lembaga Tetap")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_provider(pilot, "admin")
        await pilot.press("u")
        await submit_form(pilot, {"reason": "Testing the brakes"})
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        await settle(pilot)
    async with read_session(db) as session:
        assert (await session.get(Provider, provider_id)).state == "approved"
    assert await ps.events(db, "provider.suspended") == []


async def test_queue_steps_to_next_and_previous_provider(db, actors):
    first = await ps.submitted(db, actors, name="Lembaga Pertama")
    second = await ps.submitted(db, actors, name="Lembaga Kedua", platforms=("bukalapak",))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "curator")
        await open_area(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        screen = app.screen
        assert screen.file.provider.id == first and "1 of 2" in text_of(screen, "#provider-header")
        await pilot.press("right_square_bracket")
        await wait_until(pilot, lambda: screen.file is not None and screen.file.provider.id == second)
        assert "Lembaga Kedua" in text_of(screen, "#provider-header") and "2 of 2" in text_of(screen, "#provider-header")
        await pilot.press("left_square_bracket")
        await wait_until(pilot, lambda: screen.file is not None and screen.file.provider.id == first)

        # While the next one loads, nothing acts on the one just left (its name, its version).
        assert screen.check_action("take", ()) is True
        screen.action_step(1)
        assert screen.file is None and not screen.check_action("take", ())
        await wait_until(pilot, lambda: screen.file is not None)
        assert screen.file.provider.id == second and screen.check_action("take", ()) is True


async def test_the_stage_verdict_changes_live_with_each_score(db, actors):
    provider_id = await ps.submitted(db, actors, name="Lembaga Dinilai")
    await curation.start_curation(db, actors.curator, provider_id)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_provider(pilot, "curator")
        await pilot.press("f3", "down")
        table = screen.query_one(ScoreTable)
        verdict = lambda: str(table.get_row("stage:due_diligence")[3])  # noqa: E731
        assert "not scored yet" in verdict()
        await pilot.press("4")  # legal standing (weight 3 of 9)
        await wait_until(pilot, lambda: "4.00 so far" in verdict())
        await pilot.press("0")  # tax compliance (weight 2): at best (12 + 0 + 4*4) / 9 = 3.11, still open
        await wait_until(pilot, lambda: "2.40 so far" in verdict())
        await pilot.press("0")  # track record (weight 2): at best (12 + 0 + 0 + 4*2) / 9 = 2.22 < 3.00
        await wait_until(pilot, lambda: "cannot reach 3.00" in verdict())
        await pilot.press("4", "4")
        await wait_until(pilot, lambda: "FAILED: 2.22 below 3.00" in verdict())
        assert "waits for the earlier stages" in str(table.get_row("stage:governance")[3])


async def test_a_refused_listing_names_the_rule_in_the_form(db, actors):
    provider_id = await ps.approved(db, actors, name="Lembaga GoTo", platforms=("tokopedia",), group="goto")
    course_id = await ps.approved_course(db, actors, provider_id)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_provider(pilot, "tokopedia")
        await pilot.press("f4", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CourseScreen) and app.screen.file is not None)
        await pilot.press("l")
        await submit_form(pilot, {"commission": "10"})
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen) and "cross-selling" in text_of(app.screen, "#form-error"))
    [refusal] = await ps.events(db, "listing.refused", course_id)
    assert refusal.reason == "listing.cross_selling" and refusal.operator_name == "tokopedia"


async def test_price_outlier_report_opens_from_the_area(db, actors):
    provider_id = await ps.approved(db, actors, name="Lembaga Mahal")
    for price in ("300000", "300000", "350000"):
        await ps.approved_course(db, actors, provider_id, category="Barista", mode="offline", price=price, outside_price="")
    await ps.approved_course(
        db, actors, provider_id, title="Latte Art Eksklusif", category="Barista", mode="offline", price="2000000",
        outside_price="",
    )
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "auditor")
        await open_area(pilot)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, PriceOutliersScreen) and app.screen.rows)
        [row] = app.screen.rows.values()
        assert (row.title, row.ratio_pct) == ("Latte Art Eksklusif", 615)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ProviderScreen) and app.screen.file is not None)
        assert app.screen.file.provider.id == provider_id
        assert app.screen.check_action("new_course", ()) is False  # auditors read only


async def open_scheme(pilot, username: str) -> SchemeScreen:
    await login(pilot, username)
    await open_area(pilot)
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, SchemeScreen) and pilot.app.screen.scheme is not None)
    return pilot.app.screen


async def test_an_admin_changes_a_stage_threshold_in_the_scheme_screen(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scheme(pilot, "admin")
        assert "version 1" in text_of(screen, "#scheme-intro")
        table = screen.query_one("#scheme", DataTable)
        stage_rows = [key for key in screen.rows if "/" not in key]
        table.move_cursor(row=table.get_row_index(stage_rows[1]))  # governance
        await pilot.press("w")  # on a stage's row there is no weight to change
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, TextPrompt))
        assert app.screen.query_one(Input).value == "2.50"  # the current threshold, to correct
        app.screen.query_one(Input).value = "5"
        await pilot.press("enter")
        await settle(pilot)
        assert "Threshold: \"5\" is not a threshold between 0 and 4 points" in text_of(app.screen, ".prompt-error")
        app.screen.query_one(Input).value = "2,75"
        await pilot.press("enter")
        await wait_until(pilot, lambda: screen.scheme.version == 2)
        assert "version 2" in text_of(screen, "#scheme-intro")
        assert str(table.get_row(stage_rows[1])[3]) == "2.75"
    scheme = await curation.get_scheme(db, actors.curator)
    assert (scheme.version, scheme.rule(stage_rows[1]).threshold_centi) == (2, 275)


async def test_a_curator_reads_the_scheme_but_cannot_change_it(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_scheme(pilot, "curator")
        assert screen.check_action("threshold", ()) is False
        assert screen.check_action("weight", ()) is False


async def test_search_by_nib_and_filter_by_state(db, actors):
    await ps.inventoried(db, actors.tokopedia, name="Akademi Satu", nib="3273000000001")
    second = await ps.submitted(db, actors, name="Akademi Dua", nib="3578000000002")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "curator")
        await open_area(pilot)
        table = app.screen.query_one("#provider-list", PagedTable)
        await pilot.press("slash")
        await pilot.press(*"3578")
        await wait_until(pilot, lambda: [r.id for r in table.rows_by_key.values()] == [second])
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(table.rows_by_key) == 2)
        app.screen.query_one("#filter-state", Select).value = "inventoried"
        await wait_until(pilot, lambda: [r.name for r in table.rows_by_key.values()] == ["Akademi Satu"])


async def test_language_switch_translates_the_provider_screen(db, actors):
    await ps.submitted(db, actors, name="Lembaga Bahasa")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_provider(pilot, "curator")
        try:
            app.switch_language("id")
            await settle(pilot)
            assert "Diajukan" in text_of(screen, "#provider-header")
            assert "Dokumen" in str(screen.query_one("#provider-tabs").get_tab("tab-documents").label)
            assert "Tahap / indikator" in str(screen.query_one(ScoreTable).columns["item"].label)
        finally:
            set_language("en")


@pytest.mark.both_backends
async def test_a_decision_on_a_stale_screen_is_refused_and_the_screen_reloads(db, actors):
    provider_id = await ps.approved(db, actors, name="Lembaga Berubah")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first_provider(pilot, "admin")
        # Meanwhile a curator suspends it from another console.
        await providers.suspend_provider(db, actors.curator, provider_id, "Complaint from participants")
        await pilot.press("u")
        await submit_form(pilot, {"reason": "Late reports"})
        await answer_yes(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen) and "changed by someone else" in text_of(app.screen, "#form-error"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: screen.file.provider.state == "suspended")
        assert "Complaint from participants" in text_of(screen, "#provider-header")
    assert [event.reason for event in await ps.events(db, "provider.suspended")] == ["Complaint from participants"]


async def test_o_sorts_the_list_by_name_state_and_province_and_says_so(db, actors):
    a = await ps.inventoried(db, actors.tokopedia, name="Akademi Kopi Nusantara", province="32")
    b = await ps.submitted(db, actors, name="Balai Batik", platforms=("bukalapak",), province="33")
    c = await ps.inventoried(db, actors.admin, name="Cahaya Las", platforms=("pintaria",), province="11")
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "curator")
        await open_area(pilot)
        table = app.screen.query_one("#provider-list", PagedTable)
        status = app.screen.query_one("#provider-status")

        def shown() -> list[int]:
            return [table.rows_by_key[str(table.coordinate_to_cell_key((row, 0)).row_key.value)].id
                    for row in range(table.row_count)]

        assert shown() == [a, b, c] and str(status.render()).endswith("· by name")
        table.focus()
        for expected, words in (([a, c, b], "by state, then name"), ([c, a, b], "by province, then name"),
                                ([a, b, c], "by name")):
            await pilot.press("o")
            await wait_until(pilot, lambda expected=expected: table.complete and shown() == expected)
            await wait_until(pilot, lambda words=words: str(status.render()).endswith(f"· {words}"))


async def test_at_80x24_the_provider_form_scrolls_its_fields_and_keeps_save_and_its_key_in_view(db):
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "tokopedia")
        await open_area(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        await settle(pilot)
        form = app.screen
        save = form.query_one("#form-save")
        assert 0 < save.region.bottom <= 23, "the Save button is on screen"
        footer = " ".join(str(key.render()) for key in form.query("FooterKey"))
        assert "^s" in footer and "Save" in footer, footer
        last = form.query(".form-row").last()
        assert last.region.bottom > form.query_one("VerticalScroll").region.bottom, "the fields scroll"
        form.query_one("#field-name", Input).focus()
        await pilot.press("ctrl+s")  # from any field: an empty name is refused beside the fields
        await wait_until(pilot, lambda: text_of(form, "#form-error") != "")
        assert app.screen is form
