"""The Providers area."""

from __future__ import annotations

from screens.coming import ComingArea


class ProvidersArea(ComingArea):
    AREA_ID = "providers"
    TITLE = "area.providers"
