"""Bars in block characters: lengths in proportion, eighths of a cell, the figure beside."""

from tui.charts import bar, bars


def test_bars_are_in_proportion_to_the_largest():
    assert bar(5, 10, 10) == "█████     "
    assert bar(1, 16, 2) == "▏ "  # an eighth of the width: one eighth of a cell
    assert bar(0, 0, 4) == "    " and bar(30, 10, 3) == "███"  # nothing to draw; never past the width
    text = bars([("Registered", 1_000), ("Selected", 250)], width=8).plain.splitlines()
    assert text == ["Registered  ████████  1,000", "Selected    ██        250"]
