"""Failed payouts: why a line failed, and when its item may be paid again.

The payer's results file gives a failed line a reason in words ("account closed", "Rekening sudah
ditutup", "timeout"). The store classifies it when the results are recorded (`payment_line.
failure_kind`):

- **account**: the account itself is the problem: closed, dormant or inactive, blocked, invalid or
  not found, the holder's name does not match, the e-wallet is not verified (KYC) ... Paying the
  same account again would fail again (or, worse, reach the wrong person). The item comes back as
  a candidate only once the payee's current account differs from the account on the failed line
  (institution, number, channel or holder name), or after an approver or finance officer records
  an override with a reason (`allow_retry`, audited, one per failed line).
- **other**: the payer's side: a timeout, the bank's system down, a cut-off or limit. The item is a
  candidate again at once, to the same account.

A reason that names neither is taken as an account reason: an unexplained failure is not sent
again blindly (an override releases it when the office knows better). Migration 0607's triggers
hold the same rule in the database: no new line pays an item, to the account its latest failure
was for an account reason on, without an override.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import col

from store.errors import InvalidInput, NotFound, RuleViolation
from store.models import FailureKind, LineStatus, PaymentBatch, PaymentLine, PaymentRetryOverride, utcnow
from store.operation import operation
from store.uow import UnitOfWork

# Words (lower case, matched on word boundaries) that say the account is at fault.
ACCOUNT_WORDS = (
    "closed", "close", "dormant", "inactive", "not active", "blocked", "frozen", "suspended", "invalid",
    "not found", "unknown account", "no such account", "does not exist", "name mismatch", "name does not match",
    "holder", "beneficiary", "kyc", "unverified", "not verified",
    "ditutup", "tutup", "tidak aktif", "nonaktif", "non aktif", "diblokir", "blokir", "dibekukan",
    "tidak valid", "tidak ditemukan", "tidak terdaftar", "tidak sesuai", "nama", "belum terverifikasi",
)
# Words that put the failure on the payer's side (checked after the account words).
OTHER_WORDS = (
    "timeout", "time out", "timed out", "system", "maintenance", "network", "connection", "unavailable",
    "try again", "retry", "cut-off", "cutoff", "limit", "insufficient", "duplicate request", "server",
    "waktu habis", "sistem", "gangguan", "jaringan", "koneksi", "pemeliharaan", "coba lagi", "batas", "saldo",
)


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(" + "|".join(re.escape(word) for word in words) + r")(?![\w])")


_ACCOUNT = _pattern(ACCOUNT_WORDS)
_OTHER = _pattern(OTHER_WORDS)


def classify(reason: str) -> FailureKind:
    """The kind of a failure from the payer's reason (see the module docstring)."""
    text = " ".join((reason or "").lower().split())
    if _ACCOUNT.search(text):
        return FailureKind.ACCOUNT
    if _OTHER.search(text):
        return FailureKind.OTHER
    return FailureKind.ACCOUNT


@dataclass(frozen=True)
class RetryAllowed:
    line_id: int
    item_key: str
    reason: str


@operation
async def allow_retry(uow: UnitOfWork, line_id: int, reason: str) -> RetryAllowed:
    """Let the item of a line that failed for an account reason be paid again to the same account:
    an explicit decision with its reason, recorded once and audited."""
    uow.actor.require("payment.retry_override")
    cleaned = " ".join((reason or "").split())
    if not cleaned:
        raise InvalidInput("payment.reason_required", field="payment_reason")
    session = uow.session
    line = (
        await session.execute(
            select(col(PaymentLine.id), col(PaymentLine.item_key), col(PaymentLine.status),
                   col(PaymentLine.failure_kind), col(PaymentLine.failure_reason), col(PaymentLine.batch_id),
                   col(PaymentLine.account_institution), col(PaymentLine.account_number), col(PaymentBatch.platform_id))
            .join(PaymentBatch, col(PaymentBatch.id) == PaymentLine.batch_id)
            .where(col(PaymentLine.id) == line_id)
        )
    ).first()
    if line is None:
        raise NotFound("payment.line_not_found", line=line_id)
    uow.actor.require_platform(line.platform_id)
    if line.status != LineStatus.FAILED or line.failure_kind != FailureKind.ACCOUNT:
        raise RuleViolation("payment.override_needs_account_failure", line=line_id)
    taken = (
        await session.execute(
            select(col(PaymentRetryOverride.id)).where(col(PaymentRetryOverride.line_id) == line_id)
        )
    ).scalar()
    if taken is not None:
        raise RuleViolation("payment.override_exists", line=line_id)
    granted_by = uow.actor.operator_id
    assert granted_by is not None  # only the system acts without an operator, and it overrides nothing
    session.add(PaymentRetryOverride(line_id=line_id, granted_by=granted_by, reason=cleaned, granted_at=utcnow()))
    await session.flush()
    uow.audit(
        "payment_line.retry_allowed", "payment_line", line_id,
        details={"batch_id": line.batch_id, "item_key": line.item_key, "failure_reason": line.failure_reason,
                 "account": f"{line.account_institution} {line.account_number}"},
        reason=cleaned,
    )
    return RetryAllowed(line_id, line.item_key, cleaned)
