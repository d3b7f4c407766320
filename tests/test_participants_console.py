"""The Participants area under run_test: search by NIK, assign a course, record completion; the
balance on screen, in the database and in the audit log agree. Also the Waves view's selection,
masking in the list, and the import job."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Input, Label, Select, Static

from screens.participants_detail import ParticipantScreen
from screens.participants_forms import FormScreen, JobScreen, ListingPickerScreen
from screens.participants_waves import WavesScreen
from store.models import AuditEvent, Enrollment, Participant
from store.services import selection, waves
from store.uow import read_session
from tests.participants_support import add_participants, make_listing, person, wave_input, write_csv
from tests.tui_support import SIZE, console, login, settle, table_lines, wait_until
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.paged_table import PagedTable

BALANCE = 3_500_000


async def card_holder(db, actors) -> dict[str, str]:
    holder = person(name="Siti Ánisa Rahma", sex="F", birth=dt.date(1992, 2, 29))
    await add_participants(db, actors.coordinator, [holder, person(name="Orang Lain")])
    await waves.create_wave(db, actors.admin, wave_input(quota=2))
    await selection.select_participants(db, actors.coordinator, 7, seed=1)
    return holder


def text_of(app, selector: str) -> str:
    widget = app.screen.query_one(selector)
    return str(widget.render()) if isinstance(widget, (Label, Static)) else ""


async def open_participants(pilot) -> PagedTable:
    await pilot.press("5")
    await settle(pilot)
    return pilot.app.screen.query_one("#participants-table", PagedTable)


async def job_done(pilot) -> str:
    """Wait for the job screen's end, close it, and return its summary."""
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and not app.screen.running)
    summary = text_of(app, "#job-status")
    await pilot.press("escape")
    return summary


async def open_waves_as_coordinator(pilot) -> None:
    await login(pilot, "coordinator")
    await open_participants(pilot)
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, WavesScreen) and pilot.app.screen.waves)


async def open_new_wave_form(pilot) -> None:
    """As admin: Participants, its Waves view, and the new wave's form."""
    await login(pilot, "admin")
    await open_participants(pilot)
    await pilot.press("w")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, WavesScreen))
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, FormScreen))


async def search(pilot, value: str) -> PagedTable:
    table = pilot.app.screen.query_one("#participants-table", PagedTable)
    field = pilot.app.screen.query_one("#participant-search", Input)
    field.value = value
    field.focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: table.complete and table.row_count <= 1)
    assert field.has_focus  # the search keeps the keyboard: letters typed next are not actions
    await pilot.press("down")  # to the results
    await wait_until(pilot, lambda: table.has_focus)
    return table


async def test_search_by_nik_assign_complete_and_the_books_agree(db, actors):
    holder = await card_holder(db, actors)
    listing = await make_listing(db, actors.admin, title="Menjahit Dasar", price=1_250_000, hours=20)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        table = await search(pilot, holder["nik"])
        assert table.row_count == 1
        row = table.selected_row()
        assert row.full_name == "Siti Ánisa Rahma" and row.nik == holder["nik"][:4] + "**********" + holder["nik"][-2:]

        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, ListingPickerScreen))
        picker = app.screen.query_one(PagedTable)
        await wait_until(pilot, lambda: picker.row_count == 1)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert "Rp1,250,000" in body and "one million two hundred fifty thousand rupiah" in body
        assert "after the purchase Rp2,250,000" in body
        await pilot.press("y")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        await settle(pilot)

        await pilot.press("enter")  # open the participant
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)
        assert "Rp2,250,000" in text_of(app, "#participant-identity")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#form-certificate_number", Input).value = "SRT/TKP/2024/000123"
        app.screen.query_one("#form-review_given").value = True
        app.screen.query_one("#form-completed_on", Input).focus()
        await pilot.press("enter", "enter")  # to the certificate, then save
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen)
                         and app.screen.file is not None and app.screen.file.status == "completed")
        enrollments_table = app.screen.query_one("#participant-enrollments", DataTable)
        assert "SRT/TKP/2024/000123" in [str(cell) for cell in enrollments_table.get_row_at(0)]
        history = app.screen.query_one("#participant-history", DataTable)
        assert [str(history.get_row_at(i)[2]) for i in range(history.row_count)][-3:] == [
            "Course assigned", "Balance charged", "Completed"]

    async with read_session(db) as session:
        participant = (await session.execute(select(Participant).where(Participant.nik == holder["nik"]))).scalar_one()
        enrollment = (await session.execute(select(Enrollment).where(Enrollment.participant_id == participant.id))).scalar_one()
        events = (await session.execute(select(AuditEvent).where(
            AuditEvent.operator_name == "coordinator",
            AuditEvent.action.in_(["participant.balance_charged", "enrollment.assigned", "enrollment.completed"]),
        ).order_by(AuditEvent.id))).scalars().all()
    assert (participant.status, participant.balance_idr) == ("completed", BALANCE - 1_250_000)
    assert (enrollment.listing_id, enrollment.status, enrollment.certificate_number, enrollment.review_given) == (
        listing, "completed", "SRT/TKP/2024/000123", True
    )
    assert [event.action for event in events] == ["enrollment.assigned", "participant.balance_charged", "enrollment.completed"]
    charged = json.loads(events[1].changes)
    assert charged["before"]["balance_idr"] - charged["after"]["balance_idr"] == enrollment.price_idr == 1_250_000
    assert charged["after"]["balance_idr"] == participant.balance_idr
    assert events[1].entity_id == str(participant.id) and events[2].entity_id == str(enrollment.id)


async def test_reviewers_cannot_assign_and_see_masked_niks(db, actors):
    holder = await card_holder(db, actors)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        await open_participants(pilot)
        table = await search(pilot, "siti ani")
        assert table.row_count == 1 and "*" in table.selected_row().nik
        area = app.screen.query_one("#participants")
        assert area.check_action("assign", ()) is False and area.check_action("import", ()) is False
        await pilot.press("a")
        await settle(pilot)
        assert not isinstance(app.screen, ListingPickerScreen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)
        assert holder["nik"] not in text_of(app, "#participant-identity")
        assert app.screen.check_action("reveal", ()) is False


async def test_waves_view_selects_a_wave_after_confirmation(db, actors):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(5)])
    await waves.create_wave(db, actors.admin, wave_input(quota=3))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_waves_as_coordinator(pilot)
        assert app.screen.waves[0].funnel.registered == 5
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#form-seed", Input).value = "42"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "seed 42" in str(app.screen.query_one("#confirm-body", Static).render())
        await pilot.press("y")
        summary = await job_done(pilot)
        assert "Wave 7 selected with seed 42: 5 registered, 3 selected, 0 not eligible." in summary
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves
                         and app.screen.waves[0].funnel.selected == 3)
        assert app.screen.waves[0].selection_seed == 42
        # The funnel drawn: each stage a bar on the scale of the registered, with its figure.
        await wait_until(pilot, lambda: "Funnel of this wave" in str(app.screen.query_one("#wave-detail", Static).render()))
        lines = str(app.screen.query_one("#wave-detail", Static).render()).splitlines()
        registered = next(line for line in lines if line.startswith("Registered"))
        selected = next(line for line in lines if line.startswith("Selected"))
        assert registered.rstrip().endswith("5") and selected.rstrip().endswith("3")
        assert registered.count("█") == 30 and selected.count("█") == 18  # 3/5 of the width


async def test_waves_view_finishes_a_selection_cut_short(db, actors, monkeypatch):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(5)])
    await waves.create_wave(db, actors.admin, wave_input(quota=3))
    monkeypatch.setattr(selection, "SELECTION_PART", 2)
    write_picks = selection._write_picks

    async def lost_after_the_first_part(*args, **kwargs):
        monkeypatch.setattr(selection, "_write_picks", lost)
        return await write_picks(*args, **kwargs)

    async def lost(*_args, **_kwargs):
        raise ConnectionResetError("the server closed the connection")

    monkeypatch.setattr(selection, "_write_picks", lost_after_the_first_part)
    with pytest.raises(ConnectionResetError):
        await selection.select_participants(db, actors.coordinator, 7, seed=42)
    monkeypatch.setattr(selection, "_write_picks", write_picks)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_waves_as_coordinator(pilot)
        _header, first = table_lines(app.screen.query_one(DataTable), 2)
        assert first.split()[2:4] == ["selecting", "3"], first
        assert app.screen.waves[0].funnel.registered == 5  # the pool and the two it holds
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        body = str(app.screen.query_one("#confirm-body", Static).render())
        assert "cut short with 2 selected" in body and "seed 42" in body
        await pilot.press("y")
        await job_done(pilot)
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves
                         and app.screen.waves[0].funnel.selected == 3)
        assert app.screen.waves[0].state == "in_progress" and app.screen.waves[0].selection_seed == 42


async def test_a_selection_shows_its_progress_and_stops_when_asked(db, actors, monkeypatch):
    await add_participants(db, actors.coordinator, [person(birth=dt.date(1990, 1, 1)) for _ in range(6)]
                           + [person(birth=dt.date(2012, 1, 1))])
    await waves.create_wave(db, actors.admin, wave_input(quota=4))
    monkeypatch.setattr(selection, "SELECTION_PART", 2)
    told = []
    original = selection.select_participants

    async def select_and_stop(*args, progress, should_stop, **kwargs):
        def tell(done: int, total: int) -> None:
            told.append((done, total))
            progress(done, total)

        return await original(*args, progress=tell, should_stop=lambda: told[-1][0] > 7, **kwargs)

    monkeypatch.setattr(selection, "select_participants", select_and_stop)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_waves_as_coordinator(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and not app.screen.running)
        # Stopped as the operator asked: the screen does not call that an error.
        assert "Stopped as you asked: batches already written stay written." in text_of(app, "#job-status")
        assert "error" not in text_of(app, "#job-status")
        [note] = [n for n in app._notifications if "stopped as you asked" in n.message]
        assert note.severity == "warning" and note.title == "Stopped"  # not an error's "Not done"
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves
                         and app.screen.waves[0].state == "selecting")
        assert app.screen.waves[0].funnel.selected == 2  # one part written before the stop
    # The registry read (7 rows) then the cards written, out of the registered and the quota.
    assert told[0] == (7, 11) and told[1] == (9, 11)


async def test_import_job_shows_progress_result_and_errors(db, actors, tmp_path):
    rows = [person() for _ in range(4)]
    rows[2]["sex"] = "X"
    path = write_csv(tmp_path / "peserta.csv", rows)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#form-path", Input).value = str(path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, JobScreen) and not app.screen.running)
        status = text_of(app, "#job-status")
        assert "Read 4 rows: 3 imported, 1 rejected." in status
        errors = app.screen.query_one("#job-table", DataTable)
        assert [str(cell) for cell in errors.get_row_at(0)][:2] == ["4", "sex"]
        assert (tmp_path / "peserta.errors.csv").exists()
        await pilot.press("escape")
        table = app.screen.query_one("#participants-table", PagedTable)
        await wait_until(pilot, lambda: table.complete and table.row_count == 3)


async def test_admin_creates_a_wave_and_its_province_quotas_in_the_waves_view(db, actors):
    from store.models import Wave, WaveProvinceQuota

    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await open_new_wave_form(pilot)
        values = {
            "number": "71", "year": "2024", "training_balance_idr": "Rp3.500.000", "incentive_idr": "600000",
            "incentive_count": "1", "survey_idr": "50000", "survey_count": "2", "quota": "100",
            "registration_opens": "2024-05-01", "registration_closes": "2024-05-05", "starts_on": "2024-05-07",
            "purchase_deadline_days": "15", "budget_idr": "1.000.000.000",
        }
        for name, value in values.items():
            app.screen.query_one(f"#form-{name}", Input).value = value
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves)
        assert app.screen.waves[0].number == 71 and app.screen.waves[0].training_balance_idr == 3_500_000
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#form-quotas", Input).value = "32:30 96:5"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves
                         and app.screen.waves[0].province_quotas == {"32": 30, "96": 5})
        assert app.screen.check_action("select", ()) is False  # selection is the coordinators'
    async with read_session(db) as session:
        wave = (await session.execute(select(Wave).where(Wave.number == 71))).scalar_one()
        quotas = dict((await session.execute(
            select(WaveProvinceQuota.province_code, WaveProvinceQuota.quota).where(WaveProvinceQuota.wave_id == wave.id)
        )).all())
    assert (wave.budget_idr, wave.starts_on, quotas) == (1_000_000_000, dt.date(2024, 5, 7), {"32": 30, "96": 5})


async def test_a_refused_report_stays_in_its_form_with_what_was_typed(db, actors):
    """Progress 150 and a completion without a certificate: the form stays open, the store's
    reason beside the fields, the typed values still there; nothing is recorded."""
    from store.services import enrollments as enrollment_service

    holder = await card_holder(db, actors)
    listing = await make_listing(db, actors.admin, title="Menjahit Dasar", price=1_250_000, hours=20)
    async with read_session(db) as session:
        participant_id = (await session.execute(select(Participant.id).where(Participant.nik == holder["nik"]))).scalar_one()
    await enrollment_service.assign(db, actors.coordinator, participant_id, listing)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        await search(pilot, holder["nik"])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)

        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#form-progress_pct", Input).value = "150"
        form.query_one("#form-progress_pct", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "100" in text_of(app, "#form-error"))
        assert app.screen is form and form.query_one("#form-progress_pct", Input).value == "150"
        await pilot.press("escape")

        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        form.query_one("#form-completed_on", Input).focus()
        await pilot.press("enter", "enter")  # to the (empty) certificate, then save
        await wait_until(pilot, lambda: text_of(app, "#form-error") not in ("", "Saving ..."))
        assert app.screen is form and "certificate" in text_of(app, "#form-error").lower()
        assert form.query_one("#form-completed_on", Input).value == dt.date.today().isoformat()
    async with read_session(db) as session:
        stored = (await session.execute(select(Enrollment).where(Enrollment.participant_id == participant_id))).scalar_one()
    assert (stored.status, stored.progress_pct) == ("assigned", 0)


async def test_letters_typed_after_a_search_or_in_the_picker_never_fire_actions(db, actors):
    """A surname typed after a search goes to the search box (no 'assign' dialog); the course
    picker opens in its search box, so 'Barista' then Enter searches instead of picking."""
    holder = await card_holder(db, actors)
    await make_listing(db, actors.admin, title="Menjahit Dasar", price=1_250_000, hours=20)
    await make_listing(db, actors.admin, title="Barista Pemula", price=900_000, hours=12)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        table = await open_participants(pilot)
        field = app.screen.query_one("#participant-search", Input)
        field.focus()
        await pilot.press(*holder["nik"], "enter")
        await wait_until(pilot, lambda: table.complete and table.row_count == 1)
        await pilot.press(*" anisa")  # 'a' would assign, 's' ... : all of it is text
        await settle(pilot)
        assert not isinstance(app.screen, (ListingPickerScreen, ConfirmScreen, FormScreen))
        assert field.value == holder["nik"] + " anisa"

        field.value = holder["nik"]
        await pilot.press("enter", "down", "a")
        await wait_until(pilot, lambda: isinstance(app.screen, ListingPickerScreen))
        picker = app.screen
        listings = picker.query_one(PagedTable)
        await wait_until(pilot, lambda: listings.row_count == 2)
        assert app.focused is picker.query_one("#pick-search")
        await pilot.press(*"Barista", "enter")
        await wait_until(pilot, lambda: listings.complete and listings.row_count == 1)
        assert app.screen is picker  # Enter searched; nothing was picked
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Barista Pemula" in str(app.screen.query_one("#confirm-body", Static).render())


async def test_ctrl_q_quits_from_inside_a_dialog(db, actors):
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "admin")
        await open_participants(pilot)
        app.push_screen(FormScreen("Any form", []))
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen))
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running)


async def test_contact_details_show_masked_and_a_reveal_asks_why_shows_and_copies(db, actors):
    holder = await card_holder(db, actors)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        await search(pilot, holder["nik"])
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)
        identity = text_of(app, "#participant-identity")
        assert "0812****7890" in identity and holder["phone"] not in identity
        assert holder["family_card"] not in identity
        await pilot.press("v")
        from screens.participants_reveal import RevealPrompt

        await wait_until(pilot, lambda: isinstance(app.screen, RevealPrompt))
        prompt = app.screen
        prompt.query_one("#reveal-field", Select).value = "phone"
        await pilot.press("enter")  # no reason: refused in place
        await wait_until(pilot, lambda: str(prompt.query_one(".prompt-error").render()) != "")
        assert prompt.value is None
        await pilot.press(*"Menelepon peserta", "enter")
        await wait_until(pilot, lambda: prompt.value == holder["phone"])
        assert holder["phone"] in str(prompt.query_one("#reveal-value").render())
        await pilot.press("ctrl+y")
        assert app.clipboard == holder["phone"]  # what Textual sent the terminal (OSC 52)
        assert any(n.message == "Copied to the clipboard." for n in app._notifications)
    async with read_session(db) as session:
        events = (await session.execute(select(AuditEvent.reason).where(
            AuditEvent.action == "participant.personal_data_revealed"))).scalars().all()
    assert events == ["Menelepon peserta"]


@pytest.mark.both_backends
async def test_results_follow_a_surname_or_digits_from_the_middle_of_a_nik_as_they_are_typed(db, actors):
    holder = await card_holder(db, actors)
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "reviewer")
        table = await open_participants(pilot)
        field = app.screen.query_one("#participant-search", Input)
        field.focus()
        for typed in ("rahma", holder["nik"][6:13]):  # the last word; digits from the middle
            field.value = ""
            await pilot.press(*typed)  # no Enter: the list follows the typing
            await wait_until(pilot, lambda: table.complete and table.row_count == 1
                             and table.selected_row().full_name == "Siti Ánisa Rahma")
            assert field.has_focus and "*" in table.selected_row().nik


async def counted_list(pilot, app, count: int) -> PagedTable:
    """The coordinator's participants list, counted whole (`count`) behind its first page, focused."""
    await login(pilot, "coordinator")
    table = await open_participants(pilot)
    await wait_until(pilot, lambda: f"{count} participants" in text_of(app, "#participants-status"))
    table.focus()
    return table


@pytest.mark.both_backends
async def test_the_list_counts_them_all_behind_the_first_page_and_pages_ahead_of_the_cursor(db, actors):
    await add_participants(db, actors.coordinator, [person(name=f"Dewi Lestari {n}") for n in range(150)])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        table = await counted_list(pilot, app, 150)
        assert table.row_count == 100  # one page loaded; the count came from the store
        while table.row_count == 100:
            assert table.cursor_row < 90, "the next page came only at the end of the rows shown"
            await pilot.press("pagedown")
            await settle(pilot)
        # Asked for a screenful ahead: the PgDn that reaches the hundredth row goes on past it.
        assert table.row_count == 150 and table.cursor_row < 90


async def test_end_shows_the_last_page_of_the_whole_list_and_going_up_reads_the_pages_above(db, actors):
    await add_participants(db, actors.coordinator, [person(name=f"Dewi Lestari {n:03}") for n in range(250)])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        table = await counted_list(pilot, app, 250)

        def names() -> list[str]:
            return [str(table.get_row_at(index)[1]) for index in range(table.row_count)]

        await pilot.press("end")  # not the 100th row loaded: the 250th of the list
        await wait_until(pilot, lambda: table.selected_row().full_name == "Dewi Lestari 249")
        assert names() == [f"Dewi Lestari {n:03}" for n in range(150, 250)]  # the last page alone
        assert "250 participants" in text_of(app, "#participants-status")  # still the whole list's count
        seen = []
        while table.row_count < 250:
            await pilot.press("pageup")
            await settle(pilot)
            seen.append(table.selected_row().full_name)
            assert table.cursor_row > 0, "stopped at the first row loaded, with rows above it"
        # The pages above came in above, in the list's order, ahead of the cursor, which went up
        # a screenful at each key and never jumped.
        assert names() == [f"Dewi Lestari {n:03}" for n in range(250)]
        assert seen == sorted(set(seen), reverse=True)
        table.relabel()  # a narrower terminal, another language: the rows are laid out again
        assert names() == [f"Dewi Lestari {n:03}" for n in range(250)]
        await pilot.press("home")
        await wait_until(pilot, lambda: table.cursor_row == 0)
        assert table.selected_row().full_name == "Dewi Lestari 000"
        # From the middle of a list read from the top, End reads its last page again.
        await pilot.press("end")
        await wait_until(pilot, lambda: table.selected_row().full_name == "Dewi Lestari 249")


async def test_in_indonesian_the_sex_column_reads_l_and_p(db, actors):
    from tui.i18n import set_language

    await add_participants(db, actors.coordinator, [person(name="Dewi Lestari", sex="F", birth=dt.date(1990, 1, 1)),
                                                    person(name="Budi Santoso", sex="M")])
    app = console(db)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await login(pilot, "coordinator")
            app.switch_language("id")
            table = await open_participants(pilot)
            await wait_until(pilot, lambda: table.row_count == 2)
            sexes = {str(table.get_row_at(index)[1]): str(table.get_row_at(index)[3]) for index in range(2)}
            assert sexes == {"Dewi Lestari": "P", "Budi Santoso": "L"}
    finally:
        set_language("en")


async def test_y_copies_the_card_number_never_a_masked_nik(db, actors):
    holder = await card_holder(db, actors)
    await add_participants(db, actors.coordinator, [person(name="Belum Terpilih")])  # after the wave
    async with read_session(db) as session:
        card = (await session.execute(select(Participant.card_number).where(Participant.nik == holder["nik"]))).scalar_one()
    assert card
    app = console(db)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        table = await search(pilot, holder["nik"])
        await pilot.press("y")
        assert app.clipboard == card
        assert f"Copied {card}." in [n.message for n in app._notifications]
        await pilot.press("enter")  # the participant's own screen copies the same card
        await wait_until(pilot, lambda: isinstance(app.screen, ParticipantScreen) and app.screen.file is not None)
        app.copy_to_clipboard("")
        await pilot.press("y")
        assert app.clipboard == card
        await pilot.press("escape")
        await settle(pilot)
        other = await search(pilot, "Belum Terpilih")  # not selected: no card yet, and nothing copied
        assert other.selected_row().card_number is None and table is other
        app.copy_to_clipboard("")
        await pilot.press("y")
        assert app.clipboard == ""
        assert "This record has no reference to copy yet." in [n.message for n in app._notifications]


async def test_o_orders_the_registry_by_name_and_newest_first_and_the_status_line_says_so(db, actors):
    await add_participants(db, actors.coordinator, [person(name=name) for name in ("Zahra Putri", "Ahmad Fauzi", "Made Wirawan")])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        table = await open_participants(pilot)
        status = app.screen.query_one("#participants-status")
        await wait_until(pilot, lambda: table.row_count == 3 and "by status" in str(status.render()))
        table.focus()
        for words, first in (("by name", "Ahmad Fauzi"), ("newest first", "Made Wirawan"), ("by status", "Zahra Putri")):
            await pilot.press("o")
            await wait_until(pilot, lambda words=words: words in str(status.render()) and table.row_count == 3)
            assert table.selected_row().full_name == first


async def test_at_80_columns_status_wave_and_balance_stay_whole_and_a_long_name_gives_way(db, actors):
    long_name = "Raden Ajeng Kartika Sari Dewi Anggraini"
    await add_participants(db, actors.coordinator, [person(name=long_name), person(name="Ani")])
    await waves.create_wave(db, actors.admin, wave_input(quota=2))
    await selection.select_participants(db, actors.coordinator, 7, seed=1)
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "coordinator")
        table = await open_participants(pilot)
        await wait_until(pilot, lambda: table.row_count == 2)
        for language, status, balance, born in (("en", "selected", "Rp3,500,000", "Born"),
                                                ("id", "terpilih", "Rp3.500.000", "Lahir")):
            app.switch_language(language)
            await wait_until(pilot, lambda: table.row_count == 2)
            header, *rows = table_lines(table, 3)
            assert born not in header and "Status" in header, header
            assert all(status in row and row.rstrip().endswith(balance) for row in rows), rows
            assert all(len(line.rstrip()) <= table.scrollable_content_region.width for line in (header, *rows))
            [cut] = [row for row in rows if "Raden Ajeng" in row]
            assert long_name not in cut and "…" in cut, "the name is what gives way"
        # Wider, the person's birth date and sex come back, the whole name too; the cursor stays put.
        table.move_cursor(row=1)
        chosen = table.selected_row().full_name
        await pilot.resize_terminal(130, 40)
        await wait_until(pilot, lambda: "Lahir" in table_lines(table, 1)[0])
        assert any(long_name in row for row in table_lines(table, 3))
        assert table.selected_row().full_name == chosen
        app.switch_language("en")


async def test_at_80x24_the_course_picker_fits_with_every_price_whole(db, actors):
    await card_holder(db, actors)
    await make_listing(db, actors.admin, title="Pemrograman Aplikasi Android untuk Usaha Kecil Menengah",
                       price=12_500_000, hours=40)
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "coordinator")
        await open_participants(pilot)
        await pilot.press("b")  # assign everyone under the filter: the widest dialog of the area
        await wait_until(pilot, lambda: isinstance(app.screen, ListingPickerScreen))
        listings = app.screen.query_one(PagedTable)
        await wait_until(pilot, lambda: listings.row_count == 1)
        await settle(pilot)
        dialog = app.screen.query_one("ListingPickerScreen > Vertical")
        assert dialog.region.x >= 0 and dialog.region.right <= 80, "the whole dialog, its border too"
        header, row = table_lines(listings, 2)
        assert "Price" in header and row.rstrip().endswith("Rp12,500,000"), row
        assert "Pemrograman Aplikasi" in row and "…" in row  # the title is what gives way


async def test_at_80x24_the_wave_form_scrolls_to_the_field_being_typed_and_shows_its_keys(db, actors):
    app = console(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_new_wave_form(pilot)
        form = app.screen
        inputs = list(form.query(Input))
        fields = form.query_one("#form-fields")
        assert inputs[-1].region.y >= fields.region.bottom, "more fields than rows: they scroll"
        inputs[0].focus()
        await pilot.press(*["enter"] * (len(inputs) - 1))  # Enter: the next field
        await settle(pilot)
        assert app.focused is inputs[-1]
        assert fields.region.contains_region(inputs[-1].region), "the field being typed is in view"
        assert form.query_one(".modal-hint").region.bottom <= 23
        footer = " ".join(str(key.render()) for key in form.query("FooterKey"))
        assert "^s" in footer and "esc" in footer, footer
