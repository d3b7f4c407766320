"""Office-wide settings an admin can change; every change is audited.

Each setting has a default here; the `setting` table holds only the ones changed from it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.engine import Database
from store.errors import Conflict, InvalidInput
from store.models import Setting, utcnow
from store.operation import operation
from store.uow import UnitOfWork, read_session

DEFAULTS: dict[str, Any] = {
    # Distinct approvers a payment batch needs: the last threshold the total reaches applies.
    "payments.approval_thresholds": [[0, 1], [1_000_000_000, 2]],
    # The program's maximum commission, in basis points: no platform's cap and no listing above it
    # (also enforced by the database, migration 0605).
    "platforms.max_commission_bp": 1500,
    # Commission cap for a newly approved platform, in basis points (1500 = 15 %).
    "platforms.default_commission_cap_bp": 1500,
    # Consecutive failed logins that lock an account, and for how long (0 failures: never lock).
    "operators.lockout_failures": 5,
    "operators.lockout_minutes": 15,
    # Obligation reports fall due this many days after the end of their period.
    "obligations.due_days": 10,
    # Length of an obligation period in months (monthly by default; 3 for quarterly reports).
    "obligations.period_months": 1,
}


async def get(db: Database, key: str) -> Any:
    if key not in DEFAULTS:
        raise InvalidInput("input.setting", field="key", value=key)
    async with read_session(db) as session:
        row = await session.get(Setting, key)
    return json.loads(row.value) if row else DEFAULTS[key]


async def get_in(session: AsyncSession, key: str) -> Any:
    """The setting's value inside an open session or unit of work."""
    row = await session.get(Setting, key)
    return json.loads(row.value) if row else DEFAULTS[key]


@operation
async def change(uow: UnitOfWork, key: str, value: Any, *, expected_version: int | None = None) -> Any:
    uow.actor.require("setting.change")
    if key not in DEFAULTS:
        raise InvalidInput("input.setting", field="key", value=key)
    row = await uow.session.get(Setting, key)
    before = json.loads(row.value) if row else DEFAULTS[key]
    if row is None:
        row = Setting(key=key, value=json.dumps(value), updated_at=utcnow(), updated_by=uow.actor.operator_id)
        uow.session.add(row)
    else:
        if expected_version is not None and row.version != expected_version:
            raise Conflict("record.changed")
        row.value = json.dumps(value)
        row.updated_at = utcnow()
        row.updated_by = uow.actor.operator_id
    uow.audit("setting.changed", "setting", key, before={"value": before}, after={"value": value})
    return value
