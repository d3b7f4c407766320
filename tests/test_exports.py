"""Lists taken away: CSV and XLSX hold what the list shows under the same filter and scope, a
hostile cell cannot become a formula, a stopped export leaves nothing, every export is audited,
and Ctrl+E on a list in the console writes the file and says where."""

from __future__ import annotations

import csv
import json
import zipfile

import openpyxl
from sqlalchemy import select

from store import exports
from store.models import AuditEvent
from store.services import registry
from store.services.registry import ParticipantFilter
from store.uow import read_session
from tests.participants_support import add_participants, person
from tests.tui_support import SIZE, console, login, wait_until
from tui.widgets.export import ExportScreen
from tui.widgets.paged_table import PagedTable


def _participant_pages(db, actor, filters, size=2):
    async def pages():
        cursor = None
        while True:
            page = await registry.list_participants(db, actor, filters, cursor, size)
            yield [[row.nik, row.full_name, row.status] for row in page.rows]
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return pages


async def export_to(pilot, path) -> None:
    """Ctrl+E on what has focus, the file named, Enter: until the export says it wrote `path`."""
    app = pilot.app
    await pilot.press("ctrl+e")
    await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen))
    app.screen.query_one("#export-path").value = str(path)
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.screen.written_path == path)


async def test_csv_and_xlsx_hold_the_filtered_list_and_no_formula(db, actors, tmp_path):
    people = [person(name="Budi Widjaja"), person(name="=HYPERLINK(\"http://x\")"), person(name="Agus Salim"),
              person(name="@SUM(A1) Widjaja")]
    await add_participants(db, actors.coordinator, people)
    header = ["NIK", "Name", "Status"]
    pages = _participant_pages(db, actors.reviewer, ParticipantFilter(search="widjaja"))
    written = await exports.export_list(db, actors.reviewer, name="participants", header=header, pages=pages,
                                        path=tmp_path / "list.csv", fmt="csv")
    raw = (tmp_path / "list.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheets read UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert written == 2 and rows[0] == header
    assert [row[1] for row in rows[1:]] == ["Budi Widjaja", "'@SUM(A1) Widjaja"]
    assert all("*" in row[0] for row in rows[1:])  # NIKs masked, as the list shows them

    everyone = _participant_pages(db, actors.reviewer, ParticipantFilter())
    written = await exports.export_list(db, actors.reviewer, name="participants", header=header, pages=everyone,
                                        path=tmp_path / "list.xlsx", fmt="xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "list.xlsx").active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert written == 4 and cells[0] == header and len(cells) == 5
    assert "'=HYPERLINK(\"http://x\")" in [row[1] for row in cells]
    assert sheet["A2"].data_type == "s"  # text, never a formula

    async with read_session(db) as session:
        audited = [json.loads(changes)["details"] for changes in (await session.execute(
            select(AuditEvent.changes).where(AuditEvent.action == "list.exported").order_by(AuditEvent.id))).scalars()]
    assert audited == [{"list": "participants", "format": "csv", "rows": 2},
                       {"list": "participants", "format": "xlsx", "rows": 4}]


async def test_a_stopped_export_leaves_no_file_and_platform_staff_export_only_their_own(db, actors, tmp_path):
    await add_participants(db, actors.coordinator, [person() for _ in range(6)])
    target = tmp_path / "stopped.csv"
    written = await exports.export_list(
        db, actors.reviewer, name="participants", header=["NIK", "Name", "Status"],
        pages=_participant_pages(db, actors.reviewer, ParticipantFilter()), path=target, fmt="csv",
        should_stop=lambda: True,
    )
    assert written == 0 and not target.exists()
    scoped = await exports.export_list(
        db, actors.tokopedia, name="participants", header=["NIK", "Name", "Status"],
        pages=_participant_pages(db, actors.tokopedia, ParticipantFilter()), path=tmp_path / "own.csv", fmt="csv",
    )
    assert scoped == 0  # nobody bought on their platform


async def test_ctrl_e_on_a_list_exports_it_and_says_where(db, actors, tmp_path):
    await add_participants(db, actors.coordinator, [person(name=f"Dewi Lestari {n}") for n in range(3)])
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await pilot.press("5")
        table = app.screen.query_one("#participants-table", PagedTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        table.focus()
        path = tmp_path / "peserta.xlsx"
        await export_to(pilot, path)
        assert str(path) in str(app.screen.query_one("#export-status").render())
    sheet = openpyxl.load_workbook(path).active
    assert sheet.max_row == 4 and sheet["B1"].value == "Name"


async def test_the_waves_export_draws_the_funnel_beside_its_rows(db, actors, tmp_path):
    from screens.participants_waves import WavesScreen
    from store.services import waves
    from tests.participants_support import wave_input

    await add_participants(db, actors.coordinator, [person() for _ in range(4)])
    await waves.create_wave(db, actors.admin, wave_input(quota=3))
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")
        await pilot.press("5", "w")
        await wait_until(pilot, lambda: isinstance(app.screen, WavesScreen) and app.screen.waves)
        path = tmp_path / "gelombang.xlsx"
        await export_to(pilot, path)
    sheet = openpyxl.load_workbook(path).active
    header = [cell.value for cell in sheet[1]]
    assert header[5:] == ["Registered", "Selected", "Purchased", "Completed", "Revoked"]
    assert [cell.value for cell in sheet[2]][5] == 4  # the funnel as numbers, which a chart can draw
    # The chart is the spreadsheet's own, drawn from those cells (openpyxl does not read charts).
    with zipfile.ZipFile(path) as book:
        [drawn] = [name for name in book.namelist() if name.startswith("xl/charts/chart")]
        chart = book.read(drawn).decode()
    assert "Funnel of this wave" in chart
    for column in "FGHIJ":  # each stage of the funnel, named by its header, one bar per wave
        assert f"<c:f>waves!${column}$1</c:f>" in chart and f"<c:f>waves!${column}$2</c:f>" in chart


async def test_a_csv_has_no_chart_and_an_empty_xlsx_draws_none(db, actors, tmp_path):
    chart = exports.Chart("Funnel", categories=0, series=(1,))

    async def none():
        return
        yield

    for fmt in ("csv", "xlsx"):
        path = tmp_path / f"empty.{fmt}"
        written = await exports.export_list(db, actors.coordinator, name="waves", header=["Wave", "Registered"],
                                            pages=none, path=path, fmt=fmt, chart=chart)
        assert written == 0 and path.exists()
    with zipfile.ZipFile(tmp_path / "empty.xlsx") as book:
        assert not [name for name in book.namelist() if name.startswith("xl/charts/")]


async def test_the_dashboard_exports_each_wave_s_budget_burn_as_stacked_bars(db, actors, tmp_path):
    from store.services import waves
    from tests.participants_support import wave_input

    await waves.create_wave(db, actors.admin, wave_input(quota=10))  # a budget of Rp70,000,000
    app = console(db)
    async with app.run_test(size=SIZE) as pilot:
        await login(pilot, "coordinator")  # no budgets for a coordinator: nothing to export
        assert app.screen.current_area.check_action("export_budgets", ()) is False
        app.action_logout()
        await wait_until(pilot, lambda: app.actor is None)
        await login(pilot, "finance")
        path = tmp_path / "anggaran.xlsx"
        await export_to(pilot, path)
    sheet = openpyxl.load_workbook(path).active
    assert [cell.value for cell in sheet[1]] == ["Wave", "Budget", "Paid", "Sent", "Approved", "Left"]
    assert [cell.value for cell in sheet[2]] == ["Wave 7", 70_000_000, 0, 0, 0, 70_000_000]
    with zipfile.ZipFile(path) as book:
        [drawn] = [name for name in book.namelist() if name.startswith("xl/charts/chart")]
        chart = book.read(drawn).decode()
    assert '<c:grouping val="stacked"/>' in chart and "Incentive budget per wave" in chart
    assert all(f"<c:f>budgets!${column}$2</c:f>" in chart for column in "CDEF")  # paid, sent, approved, left
