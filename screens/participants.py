"""The Participants area."""

from __future__ import annotations

from screens.coming import ComingArea


class ParticipantsArea(ComingArea):
    AREA_ID = "participants"
    TITLE = "area.participants"
    READ_PERMISSION = "participant.read"
