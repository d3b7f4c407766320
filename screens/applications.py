"""The Applications area."""

from __future__ import annotations

from screens.coming import ComingArea


class ApplicationsArea(ComingArea):
    AREA_ID = "applications"
    TITLE = "area.applications"
