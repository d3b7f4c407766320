"""A participant's personal data as operators see it: masked everywhere, revealed one field at a
time with a reason that is audited (services/registry.py `reveal`).

The NIK and the family card number keep their region (the first four digits) and the last two;
a phone keeps its operator prefix and last four digits; an e-mail keeps its first letter and the
domain. Enough to tell two people apart on a screen, not enough to call or write to them.
"""

from __future__ import annotations

# Field -> the permission that reveals it. Contact details are what coordinators and platform
# staff need to reach their participants; the NIK stays with the office roles that check identity.
REVEALABLE = {
    "nik": "participant.reveal_nik",
    "family_card": "participant.reveal_contact",
    "phone": "participant.reveal_contact",
    "email": "participant.reveal_contact",
}


def mask_number(value: str) -> str:
    """`3201**********01`: the province and regency, and the last two digits."""
    return value[:4] + "*" * (len(value) - 6) + value[-2:] if len(value) > 6 else "*" * len(value)


def mask_phone(value: str) -> str:
    """`0812****7890`: the operator's prefix and the last four digits."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_email(value: str) -> str:
    """`b***@example.com`: the first letter and the domain."""
    local, at, domain = value.partition("@")
    if not at:
        return "*" * len(value)
    return (local[:1] + "***" if local else "") + "@" + domain


MASKS = {"nik": mask_number, "family_card": mask_number, "phone": mask_phone, "email": mask_email}


def masked(field: str, value: str) -> str:
    return MASKS[field](value) if value else ""
