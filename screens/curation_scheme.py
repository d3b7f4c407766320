"""The curation scheme: each stage's indicators with their weights, and the stage's threshold.

Everyone who reads providers sees the scheme their scores are measured against; an admin changes
a stage's threshold (`t`) or an indicator's weight (`w`), and each change writes a new version.
Adding or removing indicators stays with `mitra curation scheme set FILE` (a JSON file).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen

from screens.provider_text import label, points
from store.services import curation
from store.services.curation import Indicator, Scheme, StageRule
from tui.gating import PermissionGate
from tui.i18n import current_language, t
from tui.widgets.footer import TranslatedFooter
from tui.widgets.plain import DataTable, Static
from tui.widgets.prompt import TextPrompt
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

COLUMNS = ("stage", "indicator", "weight", "threshold")


class SchemeScreen(PermissionGate, ServiceCaller, Screen):
    DEFAULT_CSS = """
    SchemeScreen #scheme-intro { padding: 0 1; height: auto; border-bottom: solid $primary; }
    SchemeScreen DataTable { height: 1fr; }
    """
    ACTION_PERMISSIONS = {"threshold": "scheme.change", "weight": "scheme.change"}
    BINDINGS = [
        Binding("escape", "back", "providers.key.back", id="mitra.scheme.back"),
        Binding("t", "threshold", "providers.key.threshold", id="mitra.scheme.threshold"),
        Binding("w", "weight", "providers.key.weight", id="mitra.scheme.weight"),
        Binding("r", "refresh", "keys.refresh", id="mitra.scheme.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.scheme: Scheme | None = None
        # Row key -> (stage rule, indicator or None for the stage's own row).
        self.rows: dict[str, tuple[StageRule, Indicator | None]] = {}

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="scheme-intro")
        yield DataTable(id="scheme", cursor_type="row")
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.reload()

    def relabel(self) -> None:
        if self.scheme is not None:
            self.show(self.scheme)

    def reload(self) -> None:
        self.call(curation.get_scheme, then=self.show)

    def show(self, scheme: Scheme) -> None:
        self.scheme = scheme
        self.query_one("#scheme-intro", Static).update(t("providers.scheme.intro", version=scheme.version))
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        for key in COLUMNS:
            table.add_column(t(f"providers.scheme.col.{key}"), key=key)
        self.rows = {}
        language = current_language()
        for rule in scheme.stages:
            self.rows[rule.stage] = (rule, None)
            table.add_row(Text(label("stage", rule.stage), style="bold"), "", str(rule.total_weight),
                          points(rule.threshold_centi), key=rule.stage)
            for indicator in rule.indicators:
                key = f"{rule.stage}/{indicator.code}"
                self.rows[key] = (rule, indicator)
                table.add_row("", Text(indicator.label(language)), str(indicator.weight), "", key=key)
        table.move_cursor(row=min(cursor, table.row_count - 1))

    def _selected(self) -> tuple[StageRule, Indicator | None] | None:
        table = self.query_one(DataTable)
        if self.scheme is None or table.row_count == 0:
            return None
        return self.rows.get(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "")

    def action_threshold(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        rule, _ = selected
        stage = label("stage", rule.stage)
        prompt = TextPrompt(t("providers.scheme.threshold_title", stage=stage),
                            t("providers.scheme.threshold_body", points=points(rule.threshold_centi)),
                            initial=points(rule.threshold_centi), check=curation.threshold_centi)

        def tune(typed: str | None) -> None:
            if typed:
                self._tune(rule.stage, threshold=typed)

        self.app.push_screen(prompt, tune)

    def action_weight(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        rule, indicator = selected
        if indicator is None:
            self.app.notify(t("providers.scheme.pick_indicator"))
            return
        body = t("providers.scheme.weight_body", weight=indicator.weight, stage=label("stage", rule.stage),
                 total=rule.total_weight)
        prompt = TextPrompt(t("providers.scheme.weight_title", indicator=indicator.label(current_language())),
                            body, initial=str(indicator.weight), check=curation.indicator_weight)

        def tune(typed: str | None) -> None:
            if typed:
                self._tune(rule.stage, indicator=indicator.code, weight=typed)

        self.app.push_screen(prompt, tune)

    def _tune(self, stage: str, *, threshold: str | None = None, indicator: str | None = None,
              weight: str | None = None) -> None:
        """One change, written on top of the version on screen (a row was chosen: it is shown)."""
        assert self.scheme is not None
        self.call(curation.tune_scheme, self.scheme.version, stage, threshold=threshold, indicator=indicator,
                  weight=weight, then=self._changed)

    def _changed(self, scheme: Scheme) -> None:
        self.app.notify(t("providers.scheme.changed", version=scheme.version))
        self.show(scheme)

    def action_refresh(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
