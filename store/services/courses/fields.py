"""A course's fields as typed or read from a file, checked in one place for the form and the import."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store import validators
from store.errors import InvalidInput
from store.models import CourseMode
from store.services import providers


@dataclass(frozen=True)
class CourseFields:
    title: str
    category: str
    mode: str
    hours: int
    price_idr: int
    outside_price_idr: int | None  # None: not sold elsewhere, or unknown
    free_elsewhere: bool
    interactive: bool


def _hours(value: Any) -> int:
    text = str(value or "").strip()
    if not validators.is_digits(text) or len(text) > 4 or not 0 < int(text) <= 1000:
        raise InvalidInput("input.hours", field="hours", value=value)
    return int(text)


def course_fields(values: Mapping[str, Any]) -> CourseFields:
    """Validated course fields from a form or a file; each refusal names its field."""
    mode = str(values.get("mode") or "").strip().lower()
    if mode not in set(CourseMode):
        raise InvalidInput("input.course_mode", field="mode", value=values.get("mode"))
    outside_raw = values.get("outside_price")
    outside = None
    if outside_raw not in (None, "") and str(outside_raw).strip() not in ("", "-"):
        outside = 0 if str(outside_raw).strip() == "0" else validators.positive_money(outside_raw, "outside_price")
    free_elsewhere = providers.yes_no(values.get("free_elsewhere"), "free_elsewhere") or outside == 0
    return CourseFields(
        title=validators.require_text(values.get("title"), "title", max_length=300),
        category=validators.require_text(values.get("category"), "category", max_length=100),
        mode=mode,
        hours=_hours(values.get("hours")),
        price_idr=validators.positive_money(values.get("price") or "", "price"),
        outside_price_idr=None if free_elsewhere else outside,
        free_elsewhere=free_elsewhere,
        interactive=providers.yes_no(values.get("interactive"), "interactive"),
    )


def commission_bp(value: str | int) -> int:
    """A commission typed as a percentage ("12.5", "12,5 %") in basis points (1250)."""
    return validators.percentage_bp(value, "commission")
