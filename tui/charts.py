"""Charts drawn with block characters: they read in any terminal, over SSH, in 16 colours or
none (the length says it; colour only helps)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tui.money import group_digits

FULL, PARTS = "█", " ▏▎▍▌▋▊▉"  # eighths of a cell: bars grow smoothly


def bar(value: int, top: int, width: int) -> str:
    """`value` of `top` as a bar of `width` cells, in eighths of a cell."""
    eighths = round(max(value, 0) * width * 8 / top) if top > 0 else 0
    whole, part = divmod(min(eighths, width * 8), 8)
    return (FULL * whole + (PARTS[part] if part else "")).ljust(width)


def bars(rows: Sequence[tuple[str, int]], *, width: int = 30, style: str = "cyan") -> Text:
    """One labelled bar per row, all on the scale of the largest, with the figure after it."""
    top = max((value for _label, value in rows), default=0)
    label_width = max((len(label) for label, _value in rows), default=0)
    text = Text()
    for label, value in rows:
        text.append(f"{label:<{label_width}}  ")
        text.append(bar(value, top, width), style=style)
        text.append(f"  {group_digits(value)}\n")
    return text
