"""Shared steps of the applications tests: a valid application, and walking it through review."""

from __future__ import annotations

import itertools

from store.models import Verdict
from store.provinces import PROVINCES
from store.services import applications
from store.services.application_intake import ApplicationInput, submit_application

ALL_PROVINCES = " ".join(sorted(PROVINCES))
_nibs = itertools.count(1)

VERDICT_LETTERS = {"P": Verdict.PASS, "F": Verdict.FAIL, "N": Verdict.NEEDS_INFO, "U": Verdict.UNCHECKED}


def sample_input(**overrides: str) -> ApplicationInput:
    """A well-formed PT marketplace with users in every province (all suggestions pass)."""
    values = {
        "legal_name": "PT Kelas Contoh Digital",
        "brand_name": "Kelas Contoh",
        "legal_form": "pt",
        "nib": f"{9120000000000 + next(_nibs)}",
        "npwp": "01.234.567.8-901.000",
        "portal_url": "https://kelascontoh.id",
        "provinces": ALL_PROVINCES,
        "payment_integration": "Prakerja payment method via SNAP API",
        "own_group_providers": "2",
        "third_party_providers": "40",
        "licence_ref": "NIB-OSS-2019",
        "deed_ref": "AHU-0012345.AH.01.01",
        "contact_name": "Rudi Hartono",
        "contact_email": "rudi@kelascontoh.id",
        "contact_phone": "+6281234567890",
        "submitted_on": "2026-10-01",
    }
    values.update(overrides)
    return ApplicationInput(**values)


async def submit(db, actor, **overrides: str) -> int:
    return await submit_application(db, actor, sample_input(**overrides))


async def set_verdicts(db, actor, application_id: int, letters: str) -> applications.ApplicationDetail:
    """Set criteria 1..7 from letters (P pass, F fail, N needs info, U leave), each with a note."""
    detail = await applications.get_application(db, actor, application_id)
    for number, letter in enumerate(letters, start=1):
        if letter == "U":
            continue
        detail = await applications.set_verdict(
            db, actor, application_id, number, VERDICT_LETTERS[letter], f"checked {number}",
            expected_version=detail.version,
        )
    return detail


async def recommended(db, reviewer, letters: str, recommendation: str, *, reason: str | None = None, **overrides) -> int:
    """A new application, reviewed with `letters` and recommended by `reviewer`."""
    application_id = await submit(db, reviewer, **overrides)
    detail = await set_verdicts(db, reviewer, application_id, letters)
    await applications.recommend(
        db, reviewer, application_id, recommendation, "as reviewed", expected_version=detail.version,
        reject_reason=reason,
    )
    return application_id
