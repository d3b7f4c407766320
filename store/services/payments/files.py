"""The files exchanged with the payer: the disbursement file out, the results file back.

Disbursement file (CSV, UTF-8, comma separated, one header line), one row per line of the batch:

    line_id,payee,channel,institution,account_number,amount,provider,commission,net,reference
    1042,Siti Rahmawati,bank,BNI,0123456789,600000,,0,600000,MITRA-B12-L1042
    2051,PT Tokopedia,bank,BCA,8800000001,1000000,LP Cakap Digital,100000,900000,MITRA-B13-L2051

- line_id: the payment line's number (the payer returns it in the results file);
- payee, channel (bank or ewallet), institution, account_number: the account copied onto the line,
  which is what the payer pays: the participant's own account for an incentive, the platform's
  account for a training fee;
- amount: what the payer transfers to that account, integer rupiah, no separators: the incentive,
  or the gross training fee;
- provider, commission, net: for a training fee, the provider the platform passes the fee on to,
  the commission the platform keeps and the net it owes the provider (amount = commission + net);
  for an incentive, no provider, commission 0 and net = amount. They are for the record: the payer
  pays `amount` to the payee, nothing else;
- reference: the transfer's description.

Results file (CSV, same rules; comma or semicolon), one row per line paid or failed:

    line_id,amount,status,payer_reference,failure_reason
    1042,600000,paid,TRX-99812,
    1043,600000,failed,,account closed

- status: paid or failed; a paid row needs the payer's reference, a failed row its reason;
- amount must equal the line's amount; the columns of the disbursement file may be kept too.
- a failure's reason is classified as the account's or not (store/services/payments/failures.py):
  an item that failed for an account reason is not paid again to the same account.

A results file is applied entirely or not at all: unknown line ids, amounts that do not match and
other bad rows are reported with their line numbers and nothing changes. Results may come in
several files; the batch is reconciled when no line waits for a result. Failed lines release their
item (it becomes a candidate again).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import bindparam, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.actor import Actor
from store.csvio import ImportReport, malformed, read_text, rows
from store.validators import MAX_AMOUNT_IDR, is_digits
from store.engine import Database
from store.errors import InvalidInput, MitraError, NotFound, RuleViolation
from store.models import BatchState, FailureKind, LineStatus, PaymentBatch, PaymentLine, Provider, utcnow
from store.services.payments.batch_rules import enforce
from store.services.payments.batches import transition
from store.services.payments.failures import classify
from store.services.payments.integrity import check_against_audit
from store.operation import operation
from store.uow import UnitOfWork, read_session

LINE = PaymentLine.__table__
BATCH = PaymentBatch.__table__
EXPORT_COLUMNS = (
    "line_id", "payee", "channel", "institution", "account_number", "amount", "provider", "commission", "net",
    "reference",
)
RESULT_COLUMNS = ("line_id", "amount", "status")
RESULT_OPTIONAL = (
    "payer_reference", "failure_reason", "payee", "channel", "institution", "account_number", "provider",
    "commission", "net", "reference",
)
PROVIDER = Provider.__table__
PAGE = 5000


def transfer_reference(batch_id: int, line_id: int) -> str:
    return f"MITRA-B{batch_id}-L{line_id}"


@dataclass(frozen=True)
class ExportResult:
    batch_id: int
    path: str
    line_count: int
    total_idr: int
    sha256: str
    first_export: bool  # False when the batch had been sent already (a copy of the file)


async def _batch_for_export(db: Database, actor: Actor, batch_id: int) -> Any:
    async with read_session(db) as session:
        batch = (await session.execute(select(BATCH).where(BATCH.c.id == batch_id))).first()
        if batch is None:
            raise NotFound("payment.batch_not_found", batch=batch_id)
        actor.require_platform(batch.platform_id)
        enforce("export", batch)
        # No file for a batch whose lines or approvals are not the ones its audit trail recorded.
        await check_against_audit(session, batch)
    return batch


async def _write_lines(db: Database, batch_id: int, handle: TextIO) -> tuple[int, int]:
    """Write the batch's lines in keyset pages; returns (count, total)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = total = 0
    last_id = 0
    while True:
        async with read_session(db) as session:
            page = (
                await session.execute(
                    select(
                        LINE.c.id, LINE.c.payee_name, LINE.c.account_channel, LINE.c.account_institution,
                        LINE.c.account_number, LINE.c.amount_idr, PROVIDER.c.name.label("provider_name"),
                        LINE.c.commission_idr, LINE.c.net_idr,
                    )
                    .select_from(LINE.outerjoin(PROVIDER, PROVIDER.c.id == LINE.c.provider_id))
                    .where(LINE.c.batch_id == batch_id, LINE.c.id > last_id)
                    .order_by(LINE.c.id)
                    .limit(PAGE)
                )
            ).all()
        if not page:
            return count, total
        for line in page:
            writer.writerow([
                line.id, line.payee_name, line.account_channel, line.account_institution, line.account_number,
                line.amount_idr, line.provider_name or "", line.commission_idr, line.net_idr,
                transfer_reference(batch_id, line.id),
            ])
            count += 1
            total += line.amount_idr
        last_id = page[-1].id


async def export_disbursement(db: Database, actor: Actor, batch_id: int, path: str | Path) -> ExportResult:
    """Write the disbursement file of an approved batch and mark the batch sent (audited with its
    count, total and the file's sha256). A sent batch can be exported again: a copy, also audited."""
    actor.require("payment.send")
    batch = await _batch_for_export(db, actor, batch_id)
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            count, total = await _write_lines(db, batch_id, handle)
        digest.update(partial.read_bytes())
        if (count, total) != (batch.line_count, batch.total_idr):
            raise RuleViolation("payment.export_mismatch", batch=batch_id)
        os.replace(partial, target)
    except OSError as error:
        raise InvalidInput("payment.file_unwritable", field="file", path=str(target), reason=error.strerror or str(error)) from None
    finally:
        partial.unlink(missing_ok=True)
    sha256 = digest.hexdigest()
    details = {"line_count": count, "total_idr": total, "sha256": sha256, "file": target.name}
    # Marked sent once the file is complete, in a transaction of its own.
    first = await _mark_sent(db, actor, batch_id, details)
    return ExportResult(batch_id, str(target), count, total, sha256, first)


@operation
async def _mark_sent(uow: UnitOfWork, batch_id: int, details: dict[str, Any]) -> bool:
    """Approved -> sent, with the file's details; a sent batch's copy is audited. Returns whether
    this was the first export."""
    current = (await uow.session.execute(select(BATCH).where(BATCH.c.id == batch_id).with_for_update())).one()
    first: bool = current.state == BatchState.APPROVED
    if first:
        await transition(
            uow.session, current, BatchState.SENT, (BatchState.APPROVED,), sent_by=uow.actor.operator_id, sent_at=utcnow()
        )
        uow.audit("payment_batch.sent", "payment_batch", batch_id, before={"state": current.state},
                  after={"state": BatchState.SENT}, details=details)
    elif current.state == BatchState.SENT:
        uow.audit("payment_batch.exported_again", "payment_batch", batch_id, details=details)
    else:
        raise RuleViolation("payment.export_needs_approved", batch=batch_id, state=current.state)
    return first


# --- reconciliation -------------------------------------------------------------------------


@dataclass
class ReconcileReport(ImportReport):
    paid: int = 0
    paid_idr: int = 0
    failed: int = 0
    failed_idr: int = 0
    failed_account: int = 0  # of the failed: for an account reason (held until the account changes)
    unchanged: int = 0  # rows repeating a result already recorded (the same file imported twice)
    reconciled: bool = False  # every line of the batch has its result now
    batch_state: str = ""


class _Refused(Exception):
    """Rolls the unit of work back when any row of the file was refused."""


@dataclass(frozen=True)
class _Result:
    line: int
    line_id: int
    amount: int
    status: str
    reference: str
    reason: str

    @property
    def failure_kind(self) -> str:
        return classify(self.reason).value if self.status == LineStatus.FAILED else FailureKind.NONE.value


def _parse(line: int, row: dict[str, str]) -> _Result:
    """One row's values; the first bad column raises _RowError."""
    if not is_digits(row["line_id"]) or len(row["line_id"]) > 18:
        raise _RowError("line_id", InvalidInput("payment.result.line_id", value=row["line_id"]))
    if not is_digits(row["amount"]) or int(row["amount"]) > MAX_AMOUNT_IDR:
        raise _RowError("amount", InvalidInput("payment.result.amount", value=row["amount"]))
    status = row["status"].strip().lower()
    if status not in (LineStatus.PAID, LineStatus.FAILED):
        raise _RowError("status", InvalidInput("payment.result.status", value=row["status"]))
    reference = row.get("payer_reference", "")
    reason = " ".join(row.get("failure_reason", "").split())
    if status == LineStatus.PAID and not reference:
        raise _RowError("payer_reference", InvalidInput("payment.result.reference_required"))
    if status == LineStatus.FAILED and not reason:
        raise _RowError("failure_reason", InvalidInput("payment.result.reason_required"))
    return _Result(line, int(row["line_id"]), int(row["amount"]), status, reference[:100], reason)


class _RowError(Exception):
    def __init__(self, column: str, error: MitraError) -> None:
        super().__init__(column)
        self.column = column
        self.error = error


async def _check_chunk(
    session: AsyncSession, batch_id: int, chunk: list[_Result], report: ReconcileReport
) -> list[_Result]:
    """The chunk's rows that change a line; refusals go to the report."""
    known = {
        row.id: row
        for row in (
            await session.execute(
                select(LINE.c.id, LINE.c.amount_idr, LINE.c.status, LINE.c.payer_reference).where(
                    LINE.c.batch_id == batch_id, LINE.c.id.in_([result.line_id for result in chunk])
                )
            )
        ).all()
    }
    changes = []
    for result in chunk:
        line = known.get(result.line_id)
        if line is None:
            report.reject(result.line, RuleViolation("payment.result.unknown_line", line_id=result.line_id, batch=batch_id), "line_id")
        elif line.amount_idr != result.amount:
            report.reject(
                result.line,
                RuleViolation("payment.result.amount_mismatch", line_id=result.line_id, expected_idr=line.amount_idr,
                              found_idr=result.amount),
                "amount",
            )
        elif line.status != LineStatus.PENDING:
            if (line.status, line.payer_reference) == (result.status, result.reference):
                report.unchanged += 1
            else:
                report.reject(result.line, RuleViolation("payment.result.already_recorded", line_id=result.line_id,
                                                         status=line.status), "status")
        else:
            changes.append(result)
    return changes


async def _apply(session: AsyncSession, batch_id: int, changes: list[_Result], report: ReconcileReport) -> None:
    if not changes:
        return
    now = utcnow()
    params = [
        {"line": c.line_id, "new_status": c.status, "new_live": c.status == LineStatus.PAID,
         "new_reference": c.reference, "new_reason": c.reason if c.status == LineStatus.FAILED else "",
         "new_kind": c.failure_kind, "at": now}
        for c in changes
    ]
    await session.execute(
        update(LINE)
        .where(LINE.c.id == bindparam("line"), LINE.c.batch_id == batch_id, LINE.c.status == LineStatus.PENDING)
        .values(status=bindparam("new_status"), live=bindparam("new_live"), payer_reference=bindparam("new_reference"),
                failure_reason=bindparam("new_reason"), failure_kind=bindparam("new_kind"),
                reconciled_at=bindparam("at")),
        params,
    )
    for change in changes:
        if change.status == LineStatus.PAID:
            report.paid += 1
            report.paid_idr += change.amount
        else:
            report.failed += 1
            report.failed_idr += change.amount
            report.failed_account += int(change.failure_kind == FailureKind.ACCOUNT)


async def reconcile(db: Database, actor: Actor, batch_id: int, text: str) -> ReconcileReport:
    """Apply the payer's results to a sent batch: all rows or none (see the module docstring)."""
    actor.require("payment.reconcile")
    report = ReconcileReport()
    parsed = rows(text, RESULT_COLUMNS, RESULT_OPTIONAL, report=report)
    first = next(parsed, None)  # reads the header: a wrong one refuses the file before anything else
    parsed = itertools.chain([first] if first else [], parsed)
    try:
        await _apply_results(db, actor, batch_id, parsed, report)
    except _Refused:
        # Nothing of the file was applied; the refusal is recorded in a transaction of its own.
        report.imported = 0
        await _record_refusal(db, actor, batch_id, report)
    return report


@operation
async def _apply_results(uow: UnitOfWork, batch_id: int, parsed: Iterator[tuple[int, dict[str, str]]],
                         report: ReconcileReport) -> None:
    """Every row of the file, or none: a refused row rolls the transaction back (_Refused)."""
    batch = (await uow.session.execute(select(BATCH).where(BATCH.c.id == batch_id).with_for_update())).first()
    if batch is None:
        raise NotFound("payment.batch_not_found", batch=batch_id)
    enforce("reconcile", batch)
    await _read_and_apply(uow.session, batch_id, parsed, report)
    if report.errors:
        raise _Refused
    await _settle_batch(uow, batch, report)


@operation
async def _record_refusal(uow: UnitOfWork, batch_id: int, report: ReconcileReport) -> None:
    uow.audit("payment_batch.results_refused", "payment_batch", batch_id,
              details={"rows": report.read, "refused_rows": report.rejected})


async def reconcile_file(db: Database, actor: Actor, batch_id: int, path: str | Path) -> ReconcileReport:
    """`reconcile` with the results read from a file (UTF-8, with or without a byte-order mark)."""
    actor.require("payment.reconcile")
    return await reconcile(db, actor, batch_id, read_text(path))


async def _read_and_apply(
    session: AsyncSession, batch_id: int, parsed: Iterator[tuple[int, dict[str, str]]], report: ReconcileReport
) -> None:
    """Check the rows chunk by chunk, applying each clean chunk while no row was refused yet (a
    refusal later rolls everything back): memory stays bounded for files of any size."""
    seen: set[int] = set()
    chunk: list[_Result] = []

    async def flush() -> None:
        changes = await _check_chunk(session, batch_id, chunk, report)
        if not report.errors:
            await _apply(session, batch_id, changes, report)
        report.imported += len(changes)
        chunk.clear()

    for line, row in parsed:
        report.read += 1
        problem = malformed(row, len(RESULT_COLUMNS))
        if problem:
            report.reject(line, problem)
            continue
        try:
            result = _parse(line, row)
        except _RowError as bad:
            report.reject(line, bad.error, bad.column)
            continue
        if result.line_id in seen:
            report.reject(line, RuleViolation("payment.result.duplicate", line_id=result.line_id), "line_id")
            continue
        seen.add(result.line_id)
        chunk.append(result)
        if len(chunk) >= PAGE:
            await flush()
    if chunk:
        await flush()
    report.errors.sort(key=lambda error: error.line)  # rows are checked against the lines per chunk


async def _settle_batch(uow: UnitOfWork, batch: Any, report: ReconcileReport) -> None:
    """Totals from the lines; sent -> reconciled once no line waits for a result."""
    session = uow.session
    paid_idr, failed_idr, pending = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((LINE.c.status == LineStatus.PAID, LINE.c.amount_idr), else_=0)), 0),
                func.coalesce(func.sum(case((LINE.c.status == LineStatus.FAILED, LINE.c.amount_idr), else_=0)), 0),
                func.coalesce(func.sum(case((LINE.c.status == LineStatus.PENDING, 1), else_=0)), 0),
            ).where(LINE.c.batch_id == batch.id)
        )
    ).one()
    paid_idr, failed_idr = int(paid_idr), int(failed_idr)  # PostgreSQL sums into NUMERIC
    report.reconciled = pending == 0
    target = BatchState.RECONCILED if report.reconciled else BatchState.SENT
    extra = {"reconciled_at": utcnow()} if report.reconciled else {}
    await transition(session, batch, target, (BatchState.SENT,), paid_idr=paid_idr, failed_idr=failed_idr, **extra)
    report.batch_state = target
    uow.audit(
        "payment_batch.results_imported", "payment_batch", batch.id,
        details={"rows": report.read, "paid": report.paid, "paid_idr": report.paid_idr, "failed": report.failed,
                 "failed_idr": report.failed_idr, "failed_account": report.failed_account,
                 "unchanged": report.unchanged, "waiting": int(pending)},
    )
    if report.reconciled:
        uow.audit(
            "payment_batch.reconciled", "payment_batch", batch.id,
            before={"state": batch.state}, after={"state": BatchState.RECONCILED},
            details={"total_idr": batch.total_idr, "paid_idr": paid_idr, "failed_idr": failed_idr},
        )


def results_text(results: list[tuple[int, int, str, str, str]]) -> str:
    """A results file's text from (line_id, amount, status, payer_reference, failure_reason)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((*RESULT_COLUMNS, "payer_reference", "failure_reason"))
    writer.writerows(results)
    return buffer.getvalue()
