"""The stage-by-stage scorecard: a row per stage with its live verdict, a row per indicator.

With an indicator row under the cursor, keys 0-4 score it; the store saves the score and sends
back the whole scorecard, so the stage's pass or fail shows at once, and the cursor moves on to
the next indicator.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message

from screens.provider_text import label, points, stage_verdict
from store.services.curation import Scorecard
from tui.i18n import current_language, t
from tui.widgets.plain import DataTable


class ScoreTable(DataTable):
    BINDINGS = [
        *[
            Binding(str(n), f"score({n})", f"providers.key.score_{n}", show=n in (0, 4), id=f"mitra.providers.score_{n}")
            for n in range(5)
        ],
        Binding("j", "cursor_down", "", show=False),
        Binding("k", "cursor_up", "", show=False),
    ]

    class Scored(Message):
        """The operator gave `score` to an indicator (the screen saves it)."""

        def __init__(self, stage: str, indicator: str, score: int) -> None:
            super().__init__()
            self.stage = stage
            self.indicator = indicator
            self.score = score

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.card: Scorecard | None = None
        self.editable = False

    def on_mount(self) -> None:
        self.relabel()

    def relabel(self) -> None:
        self.clear(columns=True)
        for key in ("item", "weight", "score", "verdict"):
            self.add_column(t(f"providers.score.col.{key}"), key=key)
        if self.card is not None:
            self.show(self.card)

    def show(self, card: Scorecard) -> None:
        """Draw `card`, keeping the cursor on the same row."""
        self.card = card
        row = self.cursor_row
        self.clear()
        language = current_language()
        for stage in card.stages:
            self.add_row(
                label("stage", stage.stage).upper(), "", points(stage.result.score_centi), stage_verdict(stage),
                key=f"stage:{stage.stage}",
            )
            for item in stage.indicators:
                self.add_row(
                    f"  {item.indicator.label(language)}", f"x{item.indicator.weight}",
                    "." if item.score is None else str(item.score), "",
                    key=f"indicator:{stage.stage}:{item.indicator.code}",
                )
        if self.row_count:
            self.move_cursor(row=min(row, self.row_count - 1))

    def _current(self) -> tuple[str, str] | None:
        if self.row_count == 0:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value or ""
        kind, *rest = key.split(":")
        return (rest[0], rest[1]) if kind == "indicator" else None

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "score":
            return self.editable  # hidden unless the operator may score this provider now
        return True

    def action_score(self, score: int) -> None:
        current = self._current()
        if current is None or not self.editable:
            return
        self.post_message(self.Scored(current[0], current[1], score))
        self._next_indicator()

    def _next_indicator(self) -> None:
        for row in range(self.cursor_row + 1, self.row_count):
            key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value or ""
            if key.startswith("indicator:"):
                self.move_cursor(row=row)
                return
