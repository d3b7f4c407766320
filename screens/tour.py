"""The guided tour's side panel (`mitra demo --tour`, or "Tour" in a demo's palette).

The story and the checks are the store's (store/services/tour.py): a step is done when the audit
trail says so, never because keys were pressed. The app keeps one TourState, polls the progress
and gives every screen the panel (tui/app.py); Ctrl+T logs in as the demo operator the next step
needs, so the four-eyes rules are shown, not bypassed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message
from textual.widgets import Static

from tui.i18n import t


@dataclass
class TourState:
    mark: int  # the newest audit event when the tour began: steps count after it
    done: list[bool] = field(default_factory=list)

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


class TourPanel(Static):
    """Where the story stands: the step, whose it is, the keys, and what Ctrl+T does next."""

    WIDTH = 32
    DEFAULT_CSS = f"""
    TourPanel {{
        dock: right; width: {WIDTH}; height: 1fr; margin-top: 1; padding: 0 1; background: $boost;
        border-left: tall $accent; color: $foreground;
    }}
    """

    class Placed(Message):
        """The panel took its columns: the screen lays out what is left (the shell's tabs)."""

    def on_mount(self) -> None:
        self.post_message(self.Placed())

    def show(self, state: TourState, username: str | None) -> None:
        text = self.render_text(state, username)
        if text != getattr(self, "_shown", None):  # an unchanged panel sends nothing down the line
            self._shown = text
            self.update(text)

    @staticmethod
    def render_text(state: TourState, username: str | None) -> str:
        steps, index = state.steps, state.current
        marks = " ".join("✓" if state.done and state.done[i] else ("▶" if i == index else "·")
                         for i in range(len(steps)))
        lines = [f"[b]{t('tour.title', number=min(index + 1, len(steps)), total=len(steps))}[/b]", marks, ""]
        if state.finished:
            return "\n".join([*lines, t("tour.finished")])
        step = steps[index]
        lines += [f"[b]{step_title(step)}[/b]", t("tour.as", operator=step.operator), "", t(f"tour.{step.key}.keys"), ""]
        if username != step.operator:
            previous = steps[index - 1] if index else None
            if previous is not None and state.done[index - 1]:
                lines.append(t("tour.done", next=step_title(step), operator=step.operator))
            else:
                lines.append(t("tour.switch", operator=step.operator))
        else:
            lines.append(t("tour.waiting"))
        return "\n".join(lines)
