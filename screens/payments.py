"""The Payments area."""

from __future__ import annotations

from screens.coming import ComingArea


class PaymentsArea(ComingArea):
    AREA_ID = "payments"
    TITLE = "area.payments"
