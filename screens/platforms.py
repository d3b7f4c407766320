"""The Platforms area."""

from __future__ import annotations

from screens.coming import ComingArea


class PlatformsArea(ComingArea):
    AREA_ID = "platforms"
    TITLE = "area.platforms"
