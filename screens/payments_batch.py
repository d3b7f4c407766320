"""One payment batch: its summary (count, total, by provider or by province), its lines page by
page, its approval trail, and the actions the operator's roles allow in the batch's state.

Training fees are paid to the platform: the summary says what the platform is paid (gross), the
commission it keeps and what it owes on to the providers (net); each line names its payee (the
platform's account), the provider, the gross, the commission and the net, as the disbursement
file does. A line that failed for an account reason says so; `o` lets its item be paid again to
the same account, with a reason (finance or an approver; audited).

Every decision goes through a confirmation that states the count, the total with thousands
separators and the total in words; an approval also says whether it is the first or the final one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen

from screens.console import loaded
from store.errors import MitraError
from store.models import BatchKind, BatchState
from store.services.payments import batches, browse, failures, files
from store.services.payments.batch_rules import BATCH_RULES, ApprovalPreview
from store.services.payments.views import BatchRow
from tui.dialogs import dialog
from tui.gating import ActionsGate
from tui.i18n import describe_error, t
from tui.money import group_digits, in_words, rupiah
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.fitting import FittedTable
from tui.widgets.footer import TranslatedFooter
from tui.widgets.paged_table import PagedTable
from tui.widgets.plain import Static
from tui.widgets.prompt import TextPrompt
from tui.widgets.status_bar import StatusBar
from tui.workers import ServiceCaller

# The keys of the store's batch actions (store/services/payments/batch_rules.py).
ACTION_LABELS = {action: f"payments.key.{action}" for action in BATCH_RULES}


def scope_label(batch: BatchRow) -> str:
    if batch.kind == BatchKind.TRAINING_FEE:
        return batch.platform_name or batch.platform_code or ""
    return t("payments.scope.incentive", wave=batch.wave_number, payer=batch.payer)


def amounts(count: int, total_idr: int) -> str:
    """"1.234 lines · total Rp1.200.000.000" and the total in words, in the UI language."""
    return t("payments.amounts", count=group_digits(count), total=rupiah(total_idr), words=in_words(total_idr))


def approval_text(batch: BatchRow, preview: ApprovalPreview) -> str:
    """What an approval given now does (the store's preview for this approver): the only one,
    the first of several, or the final one."""
    number, needed = preview.number, preview.needed
    if needed == 1:
        which = t("payments.confirm.approve.only")
    elif number == 1:
        which = t("payments.confirm.approve.first", needed=needed)
    elif number >= needed:
        which = t("payments.confirm.approve.final", number=number, needed=needed)
    else:
        which = t("payments.confirm.approve.middle", number=number, needed=needed)
    return t(
        "payments.confirm.approve.body", kind=t(f"payments.kind.{batch.kind}"), scope=scope_label(batch),
        count=group_digits(batch.line_count), total=rupiah(batch.total_idr), words=in_words(batch.total_idr),
        which=which,
    )


def fee_split(platform: str, gross_idr: int, commission_idr: int) -> str:
    """"Paid to Tokopedia (gross) Rp1,300,000 · its commission Rp186,000 · owed on to providers
    (net) Rp1,114,000"."""
    return t("payments.batch.fee_split", platform=platform, gross=rupiah(gross_idr),
             commission=rupiah(commission_idr), net=rupiah(gross_idr - commission_idr))


def line_status(line: browse.LineRow) -> str:
    if line.status == "failed" and line.failure_kind == "account":
        return t("payments.line.failed_override" if line.retry_allowed else "payments.line.failed_account")
    status = line.status if line.live or line.status != "pending" else "released"
    return t(f"payments.line.{status}")


def _line_row(line: browse.LineRow) -> tuple[str, list[str]]:
    fee = line.instalment is None
    item = t("payments.item.fee", provider=line.provider_name) if fee else t("payments.item.incentive", number=line.instalment)
    note = line.payer_reference or line.failure_reason
    return str(line.id), [
        str(line.id), item, line.payee_name, f"{line.account_institution} {line.account_number}",
        rupiah(line.amount_idr), rupiah(line.commission_idr) if fee else "", rupiah(line.net_idr) if fee else "",
        line_status(line), note[:30], str(line.retry_of_line_id or ""),
    ]


class BatchScreen(ActionsGate, ServiceCaller, Screen[None]):
    DEFAULT_CSS = """
    BatchScreen { padding: 0 1; }
    BatchScreen #batch-title { text-style: bold; margin-top: 1; }
    BatchScreen #batch-summary { height: auto; }
    BatchScreen #batch-held { height: auto; margin-bottom: 1; color: $warning; }
    BatchScreen #batch-middle { height: auto; max-height: 12; }
    BatchScreen #batch-groups { width: 1fr; height: auto; max-height: 12; }
    BatchScreen #batch-trail { width: 1fr; height: auto; max-height: 12; padding: 0 1; border-left: solid $primary; }
    BatchScreen.-narrow #batch-groups { width: 3fr; }  /* amounts per group whole; the trail wraps */
    BatchScreen #batch-lines { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "payments.key.back", id="mitra.batch.back"),
        Binding("s", "submit", "payments.key.submit", id="mitra.batch.submit"),
        Binding("a", "approve", "payments.key.approve", id="mitra.batch.approve"),
        Binding("x", "reject", "payments.key.reject", id="mitra.batch.reject"),
        Binding("c", "cancel", "payments.key.cancel", id="mitra.batch.cancel"),
        Binding("e", "export", "payments.key.export", id="mitra.batch.export"),
        Binding("m", "reconcile", "payments.key.reconcile", id="mitra.batch.reconcile"),
        Binding("v", "new_version", "payments.key.new_version", id="mitra.batch.new_version"),
        Binding("o", "allow_retry", "payments.key.allow_retry", id="mitra.batch.allow_retry"),
        Binding("r", "refresh", "keys.refresh", id="mitra.batch.refresh"),
    ]

    def __init__(self, batch_id: int) -> None:
        super().__init__()
        self.batch_id = batch_id
        self.detail: browse.BatchDetail | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static("", id="batch-title")
        yield Static("", id="batch-summary")
        yield Static("", id="batch-held")
        with Horizontal(id="batch-middle"):
            # At 80 columns a provider's name is cut before an amount is.
            yield FittedTable(id="batch-groups", cursor_type="row", gives_way="group")
            with Vertical(id="batch-trail"):
                yield Static("", id="batch-trail-text")
        yield PagedTable(
            [
                ("id", "payments.col.line"), ("item", "payments.col.item"), ("payee", "payments.col.payee"),
                ("account", "payments.col.account"), ("amount", "payments.col.paid"),
                ("commission", "payments.col.commission"), ("net", "payments.col.net"),
                ("status", "payments.col.result"), ("note", "payments.col.reference"),
                ("retry", "payments.col.retry"),
            ],
            _line_row,
            id="batch-lines",
            gives_way="item", whole_through="amount",  # the amount paid stays whole at 80 columns
        )
        yield TranslatedFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(PagedTable).focus()

    # Below this width the groups' amounts need more of the row than the trail beside them.
    NARROW = 100

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    # --- loading -----------------------------------------------------------------------------

    def reload(self) -> None:
        self.call(browse.batch_detail, self.batch_id, then=self.show_detail)
        batch_id = self.batch_id

        async def fetch(db, actor, cursor, limit):
            return await browse.batch_lines(db, actor, batch_id, cursor, limit)

        self.query_one(PagedTable).load(fetch)

    def show_detail(self, detail: browse.BatchDetail) -> None:
        self.detail = detail
        self.store_actions = detail.actions.actions
        self._render_detail()
        self.refresh_bindings()

    def _render_detail(self) -> None:
        detail = self.detail
        if detail is None:
            return
        batch = detail.batch
        self.query_one("#batch-title", Static).update(
            t("payments.batch.title", id=batch.id, kind=t(f"payments.kind.{batch.kind}"), scope=scope_label(batch))
        )
        self.query_one("#batch-summary", Static).update("\n".join(self._summary_lines(detail)))
        self.query_one("#batch-held", Static).update(self.held_back_text(ACTION_LABELS))
        groups = self.query_one("#batch-groups", FittedTable)
        groups.clear(columns=True)
        groups.add_column(t(f"payments.col.{detail.group_by}"), key="group")
        groups.add_column(t("payments.col.lines"), key="count")
        groups.add_column(t("payments.col.paid"), key="total")
        fees = batch.kind == BatchKind.TRAINING_FEE
        if fees:
            groups.add_column(t("payments.col.net"), key="net")
        for number, group in enumerate(detail.groups):
            cells = [group.label, group_digits(group.count), rupiah(group.total_idr)]
            groups.add_row(*cells, *([rupiah(group.net_idr)] if fees else []), key=str(number))
        if detail.group_count > len(detail.groups):
            more = t("payments.batch.groups_more", count=detail.group_count - len(detail.groups))
            groups.add_row(more, "", "", *([""] if fees else []), key="more")
        groups.fit()
        self.query_one("#batch-trail-text", Static).update(self._trail_text(detail))

    def _summary_lines(self, detail: browse.BatchDetail) -> list[str]:
        batch = detail.batch
        state = t("payments.batch.state", state=t(f"payments.state.{batch.state}"), version=batch.batch_version)
        if batch.previous_batch_id:
            state += t("payments.batch.previous", id=batch.previous_batch_id)
        if detail.next_version_id:
            state += t("payments.batch.next", id=detail.next_version_id)
        lines = [state, amounts(batch.line_count, batch.total_idr)]
        if batch.kind == BatchKind.TRAINING_FEE:
            lines.append(fee_split(scope_label(batch), batch.total_idr, batch.commission_idr))
        who = ", ".join(detail.approvers)
        lines.append(t("payments.batch.approvals", given=batch.approvals_given, needed=batch.approvals_needed,
                       who=f" ({who})" if who else ""))
        counts = detail.counts
        lines.append(t("payments.detail.counts", pending=counts.pending, paid=counts.paid, failed=counts.failed,
                       retries=counts.retries))
        if batch.paid_idr or batch.failed_idr:
            lines.append(t("payments.batch.results", paid=rupiah(batch.paid_idr), failed=rupiah(batch.failed_idr)))
        if detail.reject_reason:
            lines.append(t("payments.batch.rejected", reason=detail.reject_reason))
        if detail.cancel_reason:
            lines.append(t("payments.batch.cancelled", reason=detail.cancel_reason))
        return lines

    @staticmethod
    def _trail_text(detail: browse.BatchDetail) -> str:
        rows = [t("payments.detail.trail")]
        for event in detail.trail:
            what = t("payments.event." + event.action.split(".", 1)[1])
            reason = f": {event.reason}" if event.reason else ""
            rows.append(f"{event.at:%Y-%m-%d %H:%M}  {event.operator_name}  {what}{reason}")
        return "\n".join(rows)

    def relabel(self) -> None:
        self.query_one(PagedTable).relabel()
        self.reload()

    # --- what the operator may do ----------------------------------------------------------------

    def selected_line(self) -> browse.LineRow | None:
        return self.query_one(PagedTable).selected_row()

    def on_data_table_row_highlighted(self, event) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "allow_retry":
            actor = self.app.actor
            if actor is None or not actor.can("payment.retry_override"):
                return False
            line = self.selected_line()
            # Shown (greyed) while the cursor is on another line: the key exists for failed lines.
            return True if line is not None and line.waits_for_account else None
        return self.gate(action) if action in BATCH_RULES else True

    def act(self, service, *args, then) -> None:
        """Run a decision; if it is refused (or the batch changed meanwhile), say why and reload."""
        self.call(service, *args, then=then, on_error=self._refused)

    def _refused(self, error: MitraError) -> None:
        self.app.show_error(error)
        self.reload()

    def _done(self, message: str) -> None:
        self.app.notify(message)
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.reload()

    async def _confirmed(self, title: str, body: str, *, yes_label: str | None = None) -> bool:
        answer = await self.app.push_screen_wait(ConfirmScreen(title, body, yes_label=yes_label))
        return bool(answer)

    async def _answer(self, title: str, body: str, **options: Any) -> str | None:
        return await self.app.push_screen_wait(TextPrompt(title, body, **options))

    @dialog
    async def action_submit(self) -> None:
        batch = loaded(self.detail).batch
        body = t("payments.confirm.submit.body", count=group_digits(batch.line_count), total=rupiah(batch.total_idr),
                 words=in_words(batch.total_idr))
        if await self._confirmed(t("payments.confirm.submit.title", id=batch.id), body):
            self.act(batches.submit_batch, batch.id, batch.version,
                     then=lambda _: self._done(t("payments.done.submitted", id=batch.id)))

    @dialog
    async def action_approve(self) -> None:
        detail = loaded(self.detail)
        batch = detail.batch
        if await self._confirmed(t("payments.confirm.approve.title", id=batch.id),
                                 approval_text(batch, detail.actions.approval),
                                 yes_label=t("payments.confirm.approve.yes")):
            self.act(batches.approve_batch, batch.id, batch.version, then=self._approved)

    def _approved(self, result: batches.ApprovalResult) -> None:
        if result.final:
            self._done(t("payments.done.approved", id=result.batch.id))
        else:
            self._done(t("payments.done.approval_given", number=result.approval, needed=result.batch.approvals_needed))

    async def _decide_with_reason(self, kind: str, service) -> None:
        batch = loaded(self.detail).batch
        reason = await self._answer(t(f"payments.prompt.{kind}.title", id=batch.id), t(f"payments.prompt.{kind}.body"))
        if not reason:
            return
        body = t(f"payments.confirm.{kind}.body", count=group_digits(batch.line_count),
                 total=rupiah(batch.total_idr), words=in_words(batch.total_idr), reason=reason)
        if await self._confirmed(t(f"payments.confirm.{kind}.title", id=batch.id), body):
            self.act(service, batch.id, reason, batch.version,
                     then=lambda _: self._done(t(f"payments.done.{kind}", id=batch.id)))

    @dialog
    async def action_reject(self) -> None:
        await self._decide_with_reason("reject", batches.reject_batch)

    @dialog
    async def action_cancel(self) -> None:
        await self._decide_with_reason("cancel", batches.cancel_batch)

    @dialog
    async def action_export(self) -> None:
        batch = loaded(self.detail).batch
        path = await self._answer(t("payments.prompt.export.title", id=batch.id), t("payments.prompt.export.body"),
                                  initial=str(Path.cwd() / f"batch-{batch.id}-disbursement.csv"))
        if not path:
            return
        if batch.state != BatchState.SENT:  # a copy changes nothing: no decision to confirm
            body = t("payments.confirm.export.body", count=group_digits(batch.line_count),
                     total=rupiah(batch.total_idr), words=in_words(batch.total_idr), path=path)
            if not await self._confirmed(t("payments.confirm.export.title", id=batch.id), body):
                return
        self.act(files.export_disbursement, batch.id, path, then=self._exported)

    def _exported(self, result: files.ExportResult) -> None:
        key = "payments.done.exported" if result.first_export else "payments.done.exported_again"
        self._done(t(key, id=result.batch_id, path=result.path, sha=result.sha256[:16]))

    @dialog
    async def action_reconcile(self) -> None:
        batch = loaded(self.detail).batch
        path = await self._answer(t("payments.prompt.results.title", id=batch.id), t("payments.prompt.results.body"))
        if path:
            self.act(files.reconcile_file, batch.id, path, then=self._reconciled)

    def _reconciled(self, report: files.ReconcileReport) -> None:
        if report.errors:
            lines = [
                t("cli.payments.row_error", line=error.line, column=error.column,
                  reason=describe_error(MitraError(error.key, **error.params)))
                for error in report.errors[:8]
            ]
            if len(report.errors) > 8:
                lines.append(t("cli.payments.more_errors", count=len(report.errors) - 8))
            self.app.notify("\n".join(lines), title=t("payments.results.refused"), severity="error", timeout=20)
            return
        message = t("cli.payments.results", paid=report.paid, paid_total=rupiah(report.paid_idr), failed=report.failed,
                    failed_total=rupiah(report.failed_idr), unchanged=report.unchanged)
        if report.failed_account:
            message += "\n" + t("cli.payments.results_held", count=report.failed_account)
        if report.reconciled:
            message += "\n" + t("payments.done.reconciled", id=self.batch_id)
        self._done(message)

    @dialog
    async def action_allow_retry(self) -> None:
        line = self.selected_line()
        if line is None or not line.waits_for_account:
            return
        account = f"{line.payee_name}, {line.account_institution} {line.account_number}"
        reason = await self._answer(t("payments.prompt.retry.title", line=line.id),
                                    t("payments.prompt.retry.body", failure=line.failure_reason, account=account))
        if not reason:
            return
        body = t("payments.confirm.retry.body", line=line.id, account=account, amount=rupiah(line.amount_idr),
                 reason=reason)
        if await self._confirmed(t("payments.confirm.retry.title", line=line.id), body):
            self.act(failures.allow_retry, line.id, reason, then=lambda _: self._retry_allowed(line.id))

    def _retry_allowed(self, line_id: int) -> None:
        self._done(t("payments.done.retry_allowed", line=line_id))

    @dialog
    async def action_new_version(self) -> None:
        batch = loaded(self.detail).batch
        body = t("payments.confirm.version.body", id=batch.id, scope=scope_label(batch))
        if await self._confirmed(t("payments.confirm.version.title", id=batch.id), body):
            self.act(batches.new_version, batch.id, then=self._new_version)

    def _new_version(self, batch: BatchRow) -> None:
        self.app.notify(t("payments.done.version", id=batch.id, count=group_digits(batch.line_count),
                          total=rupiah(batch.total_idr)))
        self.batch_id = batch.id
        # Nothing is offered until the new version is loaded: its own state says what may be done.
        self.detail = None
        self.store_actions = None
        self.refresh_bindings()
        self.reload()
