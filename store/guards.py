"""The guard triggers the schema must hold, and a check that they are there and switched on.

The audit log's append-only triggers, the head's forward-only trigger, decided applications and
the payment backstop, participants' waves, the commission maximum, payment retry overrides,
enrollments and wave schemes (migrations 0002, 0101, 0501, 0601-0607, 0616, 0617). On SQLite
anyone who can write the file can drop a trigger; on PostgreSQL a login that owns the tables can
switch one off. No role separation exists on SQLite, so `audit verify` and the console's start
run this check and say loudly what is missing. Keep these lists in step with the migrations (a
test compares them with a freshly migrated database).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

SQLITE_GUARDS = (
    "audit_event_no_update", "audit_event_no_delete", "audit_head_forward_only", "audit_head_no_delete",
    "platform_application_decided_no_update", "platform_application_decided_no_delete",
    "application_criterion_decided_no_update",
    "payment_batch_guard_update", "payment_batch_no_delete", "batch_approval_guard_insert",
    "batch_approval_no_update", "batch_approval_no_delete", "payment_line_guard_insert",
    "payment_line_guard_update", "payment_line_no_delete", "participant_wave_fixed",
    "platform_commission_max_insert", "platform_commission_max_update",
    "course_listing_commission_max_insert", "course_listing_commission_max_update",
    "payment_retry_override_guard_insert", "payment_retry_override_no_update", "payment_retry_override_no_delete",
    "enrollment_listing_insert", "enrollment_card_insert", "enrollment_balance_insert", "enrollment_purchase_fixed",
    "enrollment_cancel_unstarted", "wave_scheme_fixed",
)
POSTGRES_GUARDS = (
    "audit_event_no_change", "audit_event_no_truncate", "audit_head_forward_only", "audit_head_no_truncate",
    "platform_application_decided", "application_criterion_decided",
    "payment_batch_guard", "batch_approval_guard", "payment_line_guard", "participant_wave_fixed",
    "platform_commission_max", "course_listing_commission_max", "payment_retry_override_guard",
    "payment_line_retry_guard", "enrollment_inserted", "enrollment_purchase_fixed",
    "enrollment_cancel_unstarted", "wave_scheme_fixed",
)


async def missing_guards(connection: AsyncConnection) -> tuple[str, ...]:
    """Names of the guard triggers that are absent (or, on PostgreSQL, disabled)."""
    expected: tuple[str, ...]
    if connection.dialect.name == "sqlite":
        rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        expected = SQLITE_GUARDS
    else:
        rows = await connection.execute(
            text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'")
        )
        expected = POSTGRES_GUARDS
    present = {name for (name,) in rows}
    return tuple(name for name in expected if name not in present)
