"""The guided tour's side panel (`mitra demo --tour`, or "Tour" in a demo's palette).

The story and the checks are the store's (store/services/tour.py): a step is done when the audit
trail says so, never because keys were pressed. The app keeps one TourState, polls the progress
and gives every screen the panel (tui/app.py); Ctrl+T logs in as the demo operator the next step
needs, so the four-eyes rules are shown, not bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.message import Message

from tui.app_access import InConsole
from tui.i18n import t
from tui.widgets.plain import Static


@dataclass
class TourState:
    mark: int  # the newest audit event when the tour began: steps count after it
    done: list[bool] = field(default_factory=list)
    folded: bool = False  # one line only, while the operator works (Ctrl+T); a step done unfolds it

    @property
    def steps(self):
        from store.services.tour import STEPS

        return STEPS

    @property
    def current(self) -> int:
        from store.services.tour import current

        return current(self.done or [False] * len(self.steps))

    @property
    def finished(self) -> bool:
        return self.current >= len(self.steps)

    def operator_needed(self) -> str | None:
        """The demo operator of the step at hand (None once the tour is over)."""
        return None if self.finished else self.steps[self.current].operator


def step_title(step) -> str:
    return t(f"tour.{step.key}.title")


class TourPanel(InConsole, Static):
    """Where the story stands: the step, whose it is, the keys, and what Ctrl+T does next."""

    WIDTH = 32
    NARROW = 100  # below this many columns the panel goes under the area, full width
    DEFAULT_CSS = f"""
    TourPanel {{
        dock: right; width: {WIDTH}; height: 1fr; margin-top: 1; padding: 0 1; background: $boost;
        border-left: tall $accent; color: $foreground;
    }}
    TourPanel.-narrow {{
        dock: bottom; width: 1fr; height: auto; max-height: 9; margin: 0 0 1 0; border-left: none;
        border-top: tall $accent;
    }}
    """

    @property
    def beside(self) -> int:
        """The columns it takes beside the area (none when it lies under it)."""
        return 0 if self.has_class("-narrow") else self.WIDTH

    class Placed(Message):
        """The panel took its columns: the screen lays out what is left (the shell's tabs)."""

    def on_mount(self) -> None:
        self.post_message(self.Placed())

    def on_resize(self) -> None:
        self.app.show_tour()  # the terminal changed size: beside the area or under it

    def show(self, state: TourState, username: str | None, width: int) -> None:
        narrow = width < self.NARROW
        if narrow != self.has_class("-narrow"):
            self.set_class(narrow, "-narrow")
            self.post_message(self.Placed())
        text = self.render_text(state, username, compact=narrow)
        if text != getattr(self, "_shown", None):  # an unchanged panel sends nothing down the line
            self._shown = text
            self.update(text)

    @staticmethod
    def render_text(state: TourState, username: str | None, compact: bool = False) -> Text:
        """The panel's text; `compact` (under the area, at 80 columns) without blank lines."""
        steps, index = state.steps, state.current
        marks = " ".join("✓" if state.done and state.done[i] else ("▶" if i == index else "·")
                         for i in range(len(steps)))
        title = Text(t("tour.title", number=min(index + 1, len(steps)), total=len(steps)), style="bold")
        lines: list[str | Text] = [Text.assemble(title, f"  {marks}")] if compact or state.folded else [title, marks, ""]
        if state.folded and not state.finished:
            return _lines([*lines, t("tour.unfold")])
        if state.finished:
            return _lines([*lines, t("tour.finished")])
        step = steps[index]
        heading = Text(step_title(step), style="bold")
        lines += [Text.assemble(heading, " · ", t("tour.as", operator=step.operator))] if compact else [
            heading, t("tour.as", operator=step.operator), ""]
        lines += [t(f"tour.{step.key}.keys")] if compact else [t(f"tour.{step.key}.keys"), ""]
        if username != step.operator:
            previous = steps[index - 1] if index else None
            if previous is not None and state.done[index - 1]:
                lines.append(t("tour.done", next=step_title(step), operator=step.operator))
            else:
                lines.append(t("tour.switch", operator=step.operator))
        else:
            lines.append(t("tour.waiting"))
        return _lines(lines)


def _lines(lines: list[str | Text]) -> Text:
    return Text("\n").join(Text(line) if isinstance(line, str) else line for line in lines)
