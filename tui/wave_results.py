"""What a wave's selection did, in the operator's words: the command line and the Waves view say
the same."""

from __future__ import annotations

from store.services.selection import SelectionResult
from tui.i18n import t


def selection_said(result: SelectionResult) -> str:
    said = t("cli.waves.selected", number=result.wave_number, seed=result.seed, registered=result.registered,
             selected=result.selected, rejected=sum(result.rejected.values()))
    if result.finished_after_deadline:
        said += " " + t("cli.waves.finished_after_deadline", number=result.wave_number)
    return said
