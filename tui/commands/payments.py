"""`mitra payments ...`: prepare, submit, approve, reject, cancel, export, reconcile, list; payout
accounts and approval thresholds. Every command acts as `--operator USER`.

The disbursement and results files are documented in store/services/payments/files.py.
"""

from __future__ import annotations

import datetime as dt
import functools

import click

from store.csvio import read_text, write_errors
from store.engine import Database
from store.errors import MitraError
from store.models.payments import BatchState
from store.services.payments import accounts, batches, browse, failures, files
from store.services.payments.payables import CandidateFilter, Scope
from tui.commands.common import Refused, acting_operator, db_option, lang_option, operator_option, with_database
from tui.i18n import describe_error, t
from tui.money import group_digits, in_words, rupiah

KINDS = {"fee": "training_fee", "incentive": "incentive"}
STATES = [state.value for state in BatchState]


def acting(command):
    """--db, --operator and --lang on a command."""
    return db_option(operator_option(lang_option(command)))


def as_operator(work):
    """Run `work(db, actor)` as the --operator on the --db database; returns its result."""

    def run(db_url, operator_name):
        @with_database
        async def main(db: Database):
            actor = await acting_operator(db, operator_name)
            return await work(db, actor)

        return main(db_url)

    return run


def scope_options(command):
    """The scope (one platform's fees, or one wave's incentives at one payer) and the filter."""
    options = [
        click.option("--platform", "platform_code", metavar="CODE", help="Training fees of this platform."),
        click.option("--wave", "wave_number", type=int, metavar="N", help="Incentives of this wave (with --payer)."),
        click.option("--payer", default="", metavar="NAME", help="The bank or e-wallet paying the incentives."),
        click.option("--province", default="", metavar="CODE", help="Only participants of this province."),
        click.option("--provider", "provider_id", type=int, metavar="ID", help="Only this provider's fees."),
        click.option("--completed-by", type=click.DateTime(["%Y-%m-%d"]), help="Completed on or before (YYYY-MM-DD)."),
        click.option("--limit", type=int, metavar="N", help="At most N lines (oldest items first)."),
    ]
    return functools.reduce(lambda cmd, option: option(cmd), reversed(options), command)


def _scope(platform_code, wave_number, payer) -> Scope:
    if bool(platform_code) == (wave_number is not None):
        raise click.UsageError(t("cli.payments.scope_needed"))
    if platform_code:
        return Scope.fees(platform_code)
    if not payer:
        raise click.UsageError(t("cli.payments.payer_needed"))
    return Scope.incentives(wave_number, payer)


def _filter(province, provider_id, completed_by, limit) -> CandidateFilter:
    completed = completed_by.date() if isinstance(completed_by, dt.datetime) else None
    return CandidateFilter(province_code=province, provider_id=provider_id, completed_by=completed, limit=limit)


def scope_label(batch) -> str:
    if batch.kind == "training_fee":
        return batch.platform_name or batch.platform_code or ""
    return t("payments.scope.incentive", wave=batch.wave_number, payer=batch.payer)


def amount_line(count: int, total_idr: int) -> str:
    return t("cli.payments.amount", count=group_digits(count), total=rupiah(total_idr), words=in_words(total_idr))


def describe_batch(batch) -> str:
    return t(
        "cli.payments.batch", id=batch.id, kind=t(f"payments.kind.{batch.kind}"), scope=scope_label(batch),
        state=t(f"payments.state.{batch.state}"), version=batch.batch_version,
        approvals=t("payments.approvals", given=batch.approvals_given, needed=batch.approvals_needed),
    )


def echo_fee_split(gross_idr: int, commission_idr: int) -> None:
    click.echo(t("cli.payments.fee_split", gross=rupiah(gross_idr), commission=rupiah(commission_idr),
                 net=rupiah(gross_idr - commission_idr)))


def echo_prepared(batch) -> None:
    click.echo(t("cli.payments.prepared", batch=describe_batch(batch)))
    click.echo(amount_line(batch.line_count, batch.total_idr))
    if batch.kind == "training_fee":
        echo_fee_split(batch.total_idr, batch.commission_idr)


@click.group("payments")
def payments_group() -> None:
    """Payment batches: training fees and incentives, prepared by one, approved by another."""


@payments_group.command("list")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--kind", type=click.Choice(list(KINDS)), default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@acting
def list_(state, kind, limit, db_url, operator_name) -> None:
    """Batches, newest first."""
    filters = browse.BatchFilter(state=state or "", kind=KINDS.get(kind, ""))
    page = as_operator(lambda db, actor: browse.list_batches(db, actor, filters, limit=limit))(db_url, operator_name)
    for batch in page.rows:
        click.echo(f"{describe_batch(batch)}  {amount_line(batch.line_count, batch.total_idr)}")
    if not page.rows:
        click.echo(t("payments.none"))


@payments_group.command("candidates")
@scope_options
@acting
def candidates(platform_code, wave_number, payer, province, provider_id, completed_by, limit, db_url, operator_name) -> None:
    """What a batch of this scope would take now: count and total."""
    scope, filters = _scope(platform_code, wave_number, payer), _filter(province, provider_id, completed_by, limit)
    summary = as_operator(lambda db, actor: batches.preview_candidates(db, actor, scope, filters))(db_url, operator_name)
    click.echo(amount_line(summary.count, summary.total_idr))
    if scope.kind == "training_fee":
        if summary.payee_missing:
            click.echo(t("payment.platform_account_needed", platform=platform_code))
        elif summary.count:
            echo_fee_split(summary.total_idr, summary.commission_idr)
    if summary.held:
        click.echo(t("payments.prepare.held", count=group_digits(summary.held)))


@payments_group.command("prepare")
@scope_options
@acting
def prepare(platform_code, wave_number, payer, province, provider_id, completed_by, limit, db_url, operator_name) -> None:
    """Create a draft batch with every current candidate of the scope."""
    scope, filters = _scope(platform_code, wave_number, payer), _filter(province, provider_id, completed_by, limit)
    echo_prepared(as_operator(lambda db, actor: batches.prepare_batch(db, actor, scope, filters))(db_url, operator_name))


@payments_group.command("new-version")
@click.argument("batch_id", type=int)
@acting
def new_version(batch_id, db_url, operator_name) -> None:
    """A new draft from a rejected batch (same scope and filter, current candidates)."""
    echo_prepared(as_operator(lambda db, actor: batches.new_version(db, actor, batch_id))(db_url, operator_name))


@payments_group.command("show")
@click.argument("batch_id", type=int)
@acting
def show(batch_id, db_url, operator_name) -> None:
    """A batch: amounts, summary by provider or province, approvals and its trail."""
    detail = as_operator(lambda db, actor: browse.batch_detail(db, actor, batch_id))(db_url, operator_name)
    batch = detail.batch
    click.echo(describe_batch(batch))
    click.echo(amount_line(batch.line_count, batch.total_idr))
    if batch.kind == "training_fee":
        echo_fee_split(batch.total_idr, batch.commission_idr)
    counts = detail.counts
    click.echo(t("payments.detail.counts", pending=counts.pending, paid=counts.paid, failed=counts.failed,
                 retries=counts.retries))
    click.echo(t(f"payments.detail.by_{detail.group_by}"))
    for group in detail.groups:
        net = f"  {t('cli.payments.net', net=rupiah(group.net_idr))}" if batch.kind == "training_fee" else ""
        click.echo(f"  {group.label:<40} {group.count:>8}  {rupiah(group.total_idr):>20}{net}")
    click.echo(t("payments.detail.trail"))
    for event in detail.trail:
        reason = f"  {event.reason}" if event.reason else ""
        click.echo(f"  {event.at:%Y-%m-%d %H:%M}  {event.operator_name:<12} {t('payments.event.' + event.action.split('.', 1)[1])}{reason}")


def _transition_command(name: str, service, done_key: str, help_text: str, *, needs_reason: bool = False):
    options = [click.argument("batch_id", type=int)]
    if needs_reason:
        options.append(click.option("--reason", required=True, help="Why (recorded with the decision)."))

    def command(batch_id, db_url, operator_name, reason=None) -> None:
        args = (reason,) if needs_reason else ()
        batch = as_operator(lambda db, actor: service(db, actor, batch_id, *args))(db_url, operator_name)
        click.echo(t(done_key, batch=describe_batch(batch)))

    command = acting(command)
    for option in reversed(options):
        command = option(command)
    return payments_group.command(name, help=help_text)(command)


_transition_command("submit", batches.submit_batch, "cli.payments.submitted", "Submit a draft batch for approval.")
_transition_command("reject", batches.reject_batch, "cli.payments.rejected",
                    "Reject a submitted batch; its items return to the candidates.", needs_reason=True)
_transition_command("cancel", batches.cancel_batch, "cli.payments.cancelled",
                    "Cancel a draft or submitted batch; its items return to the candidates.", needs_reason=True)


@payments_group.command("approve")
@click.argument("batch_id", type=int)
@acting
def approve(batch_id, db_url, operator_name) -> None:
    """Give your approval to a submitted batch (you may not have prepared it)."""
    result = as_operator(lambda db, actor: batches.approve_batch(db, actor, batch_id))(db_url, operator_name)
    batch = result.batch
    key = "cli.payments.approved" if result.final else "cli.payments.approval_given"
    click.echo(t(key, batch=describe_batch(batch), number=result.approval, needed=batch.approvals_needed))
    click.echo(amount_line(batch.line_count, batch.total_idr))


@payments_group.command("export")
@click.argument("batch_id", type=int)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The disbursement file to write (CSV: line_id, payee, channel, institution, account_number, "
                   "amount, provider, commission, net, reference).")
@acting
def export(batch_id, output, db_url, operator_name) -> None:
    """Write the disbursement file of an approved batch and mark it sent."""
    result = as_operator(lambda db, actor: files.export_disbursement(db, actor, batch_id, output))(db_url, operator_name)
    key = "cli.payments.exported" if result.first_export else "cli.payments.exported_again"
    click.echo(t(key, batch=batch_id, path=result.path, sha256=result.sha256))
    click.echo(amount_line(result.line_count, result.total_idr))


def _report_rows(report, errors_file) -> None:
    for error in report.errors[:20]:
        reason = describe_error(MitraError(error.key, **error.params))
        click.echo(t("cli.payments.row_error", line=error.line, column=error.column, reason=reason), err=True)
    if len(report.errors) > 20:
        click.echo(t("cli.payments.more_errors", count=len(report.errors) - 20), err=True)
    if errors_file and report.errors:
        write_errors(report, errors_file, describe_error)
        click.echo(t("cli.payments.errors_written", path=errors_file), err=True)


@payments_group.command("reconcile")
@click.argument("batch_id", type=int)
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the refused rows (line, column, reason) to this CSV file.")
@acting
def reconcile(batch_id, results, errors_file, db_url, operator_name) -> None:
    """Record the payer's results (line_id, amount, status paid|failed, payer_reference, failure_reason).

    The file is applied entirely or not at all; refused rows are listed with their line numbers
    and the command exits with status 2."""
    report = as_operator(lambda db, actor: files.reconcile_file(db, actor, batch_id, results))(db_url, operator_name)
    if report.errors:
        _report_rows(report, errors_file)
        raise Refused(t("cli.payments.results_refused", refused=report.rejected, read=report.read))
    click.echo(t("cli.payments.results", paid=report.paid, paid_total=rupiah(report.paid_idr), failed=report.failed,
                 failed_total=rupiah(report.failed_idr), unchanged=report.unchanged))
    if report.failed_account:
        click.echo(t("cli.payments.results_held", count=report.failed_account))
    click.echo(t("cli.payments.reconciled" if report.reconciled else "cli.payments.still_sent", batch=batch_id))


@payments_group.command("allow-retry")
@click.argument("line_id", type=int)
@click.option("--reason", required=True, help="Why the same account may be paid again (recorded and audited).")
@acting
def allow_retry(line_id, reason, db_url, operator_name) -> None:
    """Let the item of a line that failed for an account reason be paid again to the same account.

    Normally such an item waits until its payee's account has changed (finance or an approver)."""
    result = as_operator(lambda db, actor: failures.allow_retry(db, actor, line_id, reason))(db_url, operator_name)
    click.echo(t("cli.payments.retry_allowed", line=result.line_id, item=result.item_key))


@payments_group.command("thresholds")
@click.option("--set", "new_value", metavar="AMOUNT:APPROVALS,...", default=None,
              help='Change them (admins), e.g. "0:1,1000000000:2".')
@acting
def thresholds(new_value, db_url, operator_name) -> None:
    """Show (or change) how many approvers a batch needs by its total."""
    if new_value is None:
        pairs = as_operator(batches.approval_thresholds)(db_url, operator_name)
    else:
        try:
            wanted = [[int(part) for part in item.split(":")] for item in new_value.split(",")]
        except ValueError:
            raise click.BadParameter(new_value, param_hint="--set") from None
        pairs = as_operator(lambda db, actor: batches.set_approval_thresholds(db, actor, wanted))(db_url, operator_name)
    for amount, approvals in pairs:
        click.echo(t("cli.payments.threshold", amount=rupiah(amount), approvals=approvals))


@payments_group.group("accounts")
def accounts_group() -> None:
    """Payout accounts of participants, platforms and providers."""


@accounts_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--errors", "errors_file", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the refused rows to this CSV file.")
@acting
def accounts_import(path, errors_file, db_url, operator_name) -> None:
    """Participants' accounts (nik, channel, institution, account_number, holder_name, holder_nik[, verified])."""
    text = read_text(path)
    report = as_operator(lambda db, actor: accounts.import_participant_accounts(db, actor, text))(db_url, operator_name)
    click.echo(t("cli.payments.accounts_imported", imported=report.imported, read=report.read, rejected=report.rejected))
    if report.errors:
        _report_rows(report, errors_file)
        raise click.exceptions.Exit(report.exit_status)


@accounts_group.command("provider")
@click.argument("provider_id", type=int)
@click.option("--channel", type=click.Choice(["bank", "ewallet"]), default="bank", show_default=True)
@click.option("--institution", required=True, help="Bank or e-wallet, e.g. BCA.")
@click.option("--number", "account_number", required=True, help="Account number.")
@click.option("--holder", "holder_name", required=True, help="Account holder's name.")
@click.option("--npwp", required=True, help="The provider's NPWP (the account holder's tax number).")
@acting
def accounts_provider(provider_id, channel, institution, account_number, holder_name, npwp, db_url, operator_name) -> None:
    """Register (or replace) a provider's payout account; it is paid once verified."""
    details = accounts.AccountDetails(channel, institution, account_number, holder_name)
    view = as_operator(lambda db, actor: accounts.set_provider_account(db, actor, provider_id, details, npwp))(
        db_url, operator_name
    )
    click.echo(t("cli.payments.account_set", id=view.id, institution=view.institution, number=view.account_number))


@accounts_group.command("platform")
@click.argument("platform_code")
@click.option("--channel", type=click.Choice(["bank", "ewallet"]), default="bank", show_default=True)
@click.option("--institution", required=True, help="Bank, e.g. MANDIRI.")
@click.option("--number", "account_number", required=True, help="Account number.")
@click.option("--holder", "holder_name", required=True, help="Account holder's name (the platform's legal name).")
@click.option("--npwp", required=True, help="The platform's NPWP (the account holder's tax number).")
@acting
def accounts_platform(platform_code, channel, institution, account_number, holder_name, npwp, db_url, operator_name) -> None:
    """Register (or replace) the account a platform's training fees are paid into; paid once verified."""
    details = accounts.AccountDetails(channel, institution, account_number, holder_name)
    view = as_operator(lambda db, actor: accounts.set_platform_account(db, actor, platform_code, details, npwp))(
        db_url, operator_name
    )
    click.echo(t("cli.payments.account_set", id=view.id, institution=view.institution, number=view.account_number))


@accounts_group.command("verify")
@click.argument("account_id", type=int)
@acting
def accounts_verify(account_id, db_url, operator_name) -> None:
    """Mark an account checked with its bank or e-wallet."""
    view = as_operator(lambda db, actor: accounts.verify_account(db, actor, account_id))(db_url, operator_name)
    click.echo(t("cli.payments.account_verified", id=view.id, institution=view.institution, number=view.account_number))
