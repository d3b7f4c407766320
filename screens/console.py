"""The record a screen shows, once loaded (`loaded`). The console a screen runs in, typed, is
`tui.app_access.InConsole`."""

from __future__ import annotations

from typing import TypeVar

Record = TypeVar("Record")


def loaded(record: Record | None) -> Record:
    """The record on screen, for a key that acts on it. Such keys are offered only once it is
    loaded, and withdrawn while another one loads (each screen's check_action)."""
    assert record is not None, "a key acted on a record not loaded yet"
    return record
