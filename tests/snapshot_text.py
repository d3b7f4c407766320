"""Snapshots that hold still, and say how they differ when they fail.

A screenshot is taken once the screen holds still: text cursors stop blinking (shown), workers
are done and two exports in a row are the same. On a loaded machine (CI) a screenshot taken at a
fixed point could otherwise catch a cursor's dark half-second or a screen still being redrawn.

When a snapshot test fails, this says how the screens differ in the test's own report.

pytest-textual-snapshot keeps the difference in an HTML report written next to the run, which a
CI log does not carry: there a failure reads only "assert False". This adds the screen's text,
expected against actual, line by line, to the failure; or, when the text is the same, says so
(then colours or styles differ, and the HTML report shows how).
"""

from __future__ import annotations

import asyncio
import difflib
import html
import inspect
import pickle
import re
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.tui_support import settle

_TEXT = re.compile(r'<text[^>]*?\by="([\d.]+)"[^>]*>(.*?)</text>', re.S)
_STYLED_TEXT = re.compile(r'<text class="([\w-]+)" x="([\d.]+)" y="([\d.]+)"')
_BACKGROUND = re.compile(r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"')
_CLASS = re.compile(r'\.([\w-]+) \{([^}]*)\}')
_ROW = 24.4  # the height of a terminal row in Textual's SVG


def screen_lines(svg: str) -> list[str]:
    """The text of a Textual SVG screenshot, one string per terminal row."""
    rows: dict[float, list[str]] = {}
    for match in _TEXT.finditer(svg):
        rows.setdefault(float(match.group(1)), []).append(html.unescape(match.group(2)))
    return ["".join(parts).replace("\xa0", " ").rstrip() for _, parts in sorted(rows.items())]


async def hold_still(pilot: Pilot, timeout: float = 5.0) -> None:
    """Stop text cursors blinking and wait until two screen exports in a row are the same."""
    app = pilot.app
    for widget in app.screen.query("*"):
        if hasattr(widget, "cursor_blink"):
            widget.cursor_blink = False  # Input and TextArea: the cursor stays shown
    loop = asyncio.get_running_loop()
    deadline, previous = loop.time() + timeout, None
    while True:
        await settle(pilot, 1)
        current = app.export_screenshot()
        if current == previous or loop.time() > deadline:
            return  # past the deadline the snapshot shows whatever still moves
        previous = current
        await pilot.pause(0.05)


def held_still(compare: Callable[..., bool]) -> Callable[..., bool]:
    """pytest-textual-snapshot's `snap_compare`, taking its screenshot once the screen holds still."""

    def compare_held_still(app, press=(), terminal_size=(80, 24), run_before=None) -> bool:
        async def before(pilot: Pilot) -> None:
            if run_before is not None and inspect.isawaitable(result := run_before(pilot)):
                await result
            await hold_still(pilot)

        return compare(app, press=press, terminal_size=terminal_size, run_before=before)

    return compare_held_still


def row_styles(svg: str) -> dict[int, list[tuple[str, str, str]]]:
    """Per terminal row: where each run of text and background starts, and its style (resolved
    from the SVG's classes, whose names differ between screenshots)."""
    classes = {name: rule.strip() for name, rule in _CLASS.findall(svg)}
    rows: dict[int, list[tuple[str, str, str]]] = {}
    for name, x, y in _STYLED_TEXT.findall(svg):
        rows.setdefault(round((float(y) - 20) / _ROW), []).append(("text", x, classes.get(name, name)))
    for fill, x, y, width in _BACKGROUND.findall(svg):
        rows.setdefault(round((float(y) - 1.5) / _ROW), []).append(("background", f"{x}+{width}", fill))
    return rows


def difference(expected_svg: str, actual_svg: str) -> str:
    expected, actual = screen_lines(expected_svg), screen_lines(actual_svg)
    if expected == actual:
        before, after = row_styles(expected_svg), row_styles(actual_svg)
        changed = [row for row in sorted(set(before) | set(after)) if before.get(row) != after.get(row)]
        lines = ["The screen's text is as expected; the styles of these rows differ:"]
        for row in changed[:8]:
            gone = sorted(set(before.get(row, [])) - set(after.get(row, [])))
            new = sorted(set(after.get(row, [])) - set(before.get(row, [])))
            lines.append(f"row {row}: expected {gone[:4]}, actual {new[:4]}")
        return "\n".join(lines)
    return "\n".join(difflib.unified_diff(expected, actual, "expected", "actual", lineterm="", n=2))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or "snap_compare" not in getattr(item, "fixturenames", ()):
        return
    try:
        from pytest_textual_snapshot import node_to_report_path

        data = pickle.loads(node_to_report_path(item).read_bytes())
        expected_svg, actual_svg = data[1], data[2]
    except Exception as error:  # noqa: BLE001 - a report of a failure must not fail itself
        report.sections.append(("snapshot difference", f"not available: {error!r}"))
        return
    report.sections.append(("snapshot difference", difference(expected_svg or "", actual_svg or "")))
