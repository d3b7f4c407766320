"""Payments: what is payable, batches from preparation to reconciliation, payout accounts.

- `payables`: the candidates of a scope (training fees of one platform, incentive instalments of
  one wave and one payer), as one SQL query that preparation copies into lines set-based.
- `batches`: prepare, submit, approve (maker-checker, approvals growing with the amount, the
  wave's budget), reject, cancel, new version; the approval thresholds.
- `files`: the disbursement file (export, marks the batch sent) and the payer's results
  (reconciliation).
- `browse`: lists and details for the console and the command line, budgets per wave.
- `accounts`: payout accounts of participants, platforms (training fees are paid to the platform,
  which passes them on to providers less its commission) and providers.
- `failures`: why a failed line failed (the account's fault or not), and the audited override that
  lets an item whose line failed for an account reason be paid again to the same account.

Never twice: a payable item is on at most one live line, by partial unique indexes on the item
key and on the typed columns it spells (enrollment; participant and instalment). The database
also refuses, by trigger, any backward move of a batch, an approval without its approvers, and
any change to lines once submitted (migration 0601); the export checks the batch against its
audit trail (`integrity`). The constraints below are explained to the operator as rules.
"""

from store.failures import explain_constraint

# SQLite names a failed unique index by its columns, PostgreSQL by the index name.
explain_constraint(
    (
        "uq_payment_line_live_item", "payment_line.item_key", "uq_payment_line_live_fee", "payment_line.enrollment_id",
        "uq_payment_line_live_instalment", "payment_line.participant_id",
    ),
    "payment.paid_twice",
)
explain_constraint("ck_batch_approval_approver_not_preparer", "payment.preparer_cannot_approve")
explain_constraint(("uq_batch_approval_batch_id_approver_id", "batch_approval.batch_id"), "payment.already_approved")
explain_constraint("ck_payment_batch_rejecter_not_preparer", "payment.preparer_cannot_reject")
explain_constraint(("uq_payment_batch_previous_batch_id", "payment_batch.previous_batch_id"), "payment.version_exists")
explain_constraint(("uq_payout_account_participant_id", "payout_account.participant_id"), "payout.exists")
explain_constraint(("uq_payout_account_provider_id", "payout_account.provider_id"), "payout.exists")
explain_constraint(("uq_payout_account_platform_id", "payout_account.platform_id"), "payout.exists")
explain_constraint(("uq_payment_retry_override_line_id", "payment_retry_override.line_id"), "payment.override_exists")
