"""What an operator typed or a file held is shown as it was, never read as markup: a note holding
"[/x]" once ended the console in a MarkupError, "[b]" vanished from a name, and "[@click=...]"
made text a link that runs an action (tui/widgets/plain.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from screens.applications_review import ReviewScreen
from tests.application_support import submit
from tests.test_applications_console import open_first_review, press, review
from tests.tui_support import console, fill, table_lines, wait_until

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "[/x] [b]bold[/b] [@click=app.quit]quit[/]"
# Textual's widgets that read a str as markup; the console takes them from tui/widgets/plain.py.
MARKUP_READERS = {"Static", "Label", "DataTable", "OptionList", "Select"}


def test_the_console_takes_its_text_widgets_from_the_plain_ones():
    offenders = []
    for folder in ("screens", "tui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "tui" / "widgets" / "plain.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual.widgets"):
                    offenders += [f"{path.relative_to(ROOT)}: {alias.name}" for alias in node.names
                                  if alias.name in MARKUP_READERS]
    assert offenders == []


async def test_a_note_a_name_and_a_notification_holding_markup_show_as_typed(db, actors):
    await submit(db, actors.reviewer, brand_name="Kelas [b]Satu[/b]", legal_name=f"PT {HOSTILE}")
    app = console(db)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await open_first_review(pilot)
        screen = review(app)
        assert f"Legal name: PT {HOSTILE}" in str(screen.query_one("#applicant-data").render())
        assert "Kelas [b]Satu[/b]" in str(screen.query_one("#review-title").render())

        await press(pilot, "e")  # a note on criterion 1
        await fill(pilot, HOSTILE)
        await press(pilot, "enter")
        await wait_until(pilot, lambda: review(app).detail.criteria[0].note == HOSTILE)
        assert isinstance(app.screen, ReviewScreen)  # the console is still running
        await press(pilot, "k")  # back to criterion 1, from the one a note moves on to
        assert HOSTILE in str(screen.query_one("#criterion-help").render())
        criteria = "\n".join(table_lines(screen.query_one("#criteria"), 3))
        assert "[/x] [b]bold" in criteria  # the note's column, cut to the table's width
        history = "\n".join(table_lines(screen.query_one("#history"), 4))
        assert HOSTILE in history

        app.notify(f"Saved {HOSTILE}", title="[/y]")
        await wait_until(pilot, lambda: len(app.screen.query("Toast")) > 0)
        [toast] = app.screen.query("Toast")
        assert f"Saved {HOSTILE}" in str(toast.render())
        assert isinstance(app.screen, ReviewScreen)


async def test_a_choice_s_prompt_and_a_login_option_show_as_typed():
    # A platform's or a wave's name in a filter, an operator's name on the demo login: the same
    # widgets, outside the console's screens.
    from textual.app import App
    from textual.widgets.option_list import Option

    from tui.widgets.plain import OptionList, Select

    class Choices(App):
        def compose(self):
            yield Select([(f"Platform {HOSTILE}", "p")], value="p", allow_blank=False, id="choice")
            yield OptionList(Option(f"operator {HOSTILE}"), id="options")

    app = Choices()
    async with app.run_test() as pilot:
        await pilot.pause()
        shown = app.query_one("#choice SelectCurrent").query_one("#label").render()
        assert str(shown) == f"Platform {HOSTILE}"
        assert str(app.query_one("#options", OptionList).get_option_at_index(0).prompt) == f"operator {HOSTILE}"
        assert "[b]bold[/b]" in "".join(segment.text for segment in app.query_one("#options").render_line(0))


async def test_a_control_character_reaches_no_terminal():
    # An ESC in a name (from a database login, or pasted) would start an escape sequence in the
    # operator's terminal: clear the screen, or write the clipboard of a field officer over SSH.
    from textual.app import App

    from tui.widgets.plain import DataTable, Label, Static

    hostile = "PT X\x1b]52;c;aGk=\x07 Y\x1b[2J"

    class Shown(App):
        def compose(self):
            yield Static(hostile, id="static")
            yield Label("", id="label")
            yield DataTable(id="table")

        def on_mount(self):
            self.query_one("#label", Label).update(hostile)
            table = self.query_one("#table", DataTable)
            table.add_column("name")
            table.add_row(hostile)

    app = Shown()
    async with app.run_test() as pilot:
        await pilot.pause()
        drawn = ["".join(segment.text for segment in strip) for strip in (
            app.query_one("#static").render_line(0), app.query_one("#label").render_line(0),
            app.query_one("#table").render_line(1))]
        for line in drawn:
            assert "\x1b" not in line and "\x07" not in line
            assert "PT X\ufffd]52;c;aGk=\ufffd Y\ufffd[2J" in line
