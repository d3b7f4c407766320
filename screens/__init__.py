"""The console's screens, one module per area; areas() lists them in menu order (keys 1-7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.area import Area


def areas() -> list[type[Area]]:
    # Imported here so that `import screens` stays cheap for the command line.
    from screens.applications import ApplicationsArea
    from screens.audit import AuditArea
    from screens.dashboard import DashboardArea
    from screens.participants import ParticipantsArea
    from screens.payments import PaymentsArea
    from screens.platforms import PlatformsArea
    from screens.providers import ProvidersArea

    return [
        DashboardArea, ApplicationsArea, PlatformsArea, ProvidersArea,
        ParticipantsArea, PaymentsArea, AuditArea,
    ]
