"""The Dashboard's incentive budget per wave: paid, sent and approved money against the budget,
as a bar per wave (characters, not colours alone, so it reads in any terminal)."""

from __future__ import annotations

from rich.text import Text

from store.services.payments import browse
from tui.i18n import t
from tui.money import rupiah
from tui.widgets.plain import Static
from tui.workers import ServiceCaller

BAR_WIDTH = 30
SEGMENTS = (("paid_idr", "█", "green"), ("sent_idr", "▓", "yellow"), ("approved_idr", "▒", "cyan"))


def bar(budget: browse.WaveBudget, width: int = BAR_WIDTH) -> Text:
    """Segments in proportion to the budget; whatever is used beyond it fills the bar."""
    text = Text()
    scale = max(budget.budget_idr, budget.used_idr, 1)
    drawn = 0
    for field, char, style in SEGMENTS:
        cells = round(getattr(budget, field) * width / scale)
        cells = min(cells, width - drawn)
        text.append(char * cells, style=style)
        drawn += cells
    text.append("░" * (width - drawn), style="dim")
    return text


class WaveBudgets(ServiceCaller, Static):
    """Shown to those who may read budgets; reloaded with the dashboard."""

    DEFAULT_CSS = """
    WaveBudgets { height: auto; margin-top: 1; }
    """

    def reload(self) -> None:
        actor = self.app.actor
        self.display = actor is not None and actor.can("payment.budget")
        if self.display:
            self.call(browse.wave_budgets, then=self.show_budgets)

    def show_budgets(self, budgets: list[browse.WaveBudget]) -> None:
        text = Text(t("payments.budget.title"), style="bold")
        text.append("\n" + t("payments.budget.legend") + "\n", style="dim")
        for budget in budgets:
            used = budget.used_idr * 100 // budget.budget_idr if budget.budget_idr else 0
            text.append(f"\n{t('payments.budget.wave', number=budget.number):<14}")
            text.append_text(bar(budget))
            text.append("  " + t("payments.budget.used", percent=used, budget=rupiah(budget.budget_idr)))
            text.append("\n" + " " * 14 + t(
                "payments.budget.figures", paid=rupiah(budget.paid_idr), sent=rupiah(budget.sent_idr),
                approved=rupiah(budget.approved_idr),
            ), style="dim")
        if not budgets:
            text.append("\n" + t("payments.budget.none"))
        self.update(text)
