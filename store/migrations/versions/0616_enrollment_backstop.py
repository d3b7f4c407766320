"""enrollment backstop: what a participant buys is bounded by their wave's training balance

Revision ID: 0616
Revises: 0615
Create Date: 2026-12-06

Training fees are paid per enrollment, at the enrollment's price (store/services/payments). The
services sell a course only to a card holder with the balance for it, at the listed price; a
database login could write an enrollment of any price for anyone, or raise a balance and let the
console sell on it, and the next fee batch paid it. The database now refuses, whoever writes:
- an enrollment whose price, commission, course and platform are not its listing's at that
  moment (prices are copied at purchase: a later change of the course's price does not touch it);
- an enrollment for someone who holds no card (selected, in training or completed);
- enrollments of one participant that are not cancelled and together cost more than the training
  balance of the participant's wave;
- any change of what an enrollment bought (participant, listing, course, platform, sequence,
  price, commission), a cancelled enrollment coming back, and the cancelling of one already
  started (it would free its price for another purchase, its own perhaps already paid).
On PostgreSQL the checks at insert run once per statement over its new rows (a bulk assignment
or an import's COPY adds thousands); on SQLite, row triggers (its writers take turns anyway).
"""

from alembic import op

revision = "0616"
down_revision = "0615"
branch_labels = None
depends_on = None

CARD_HOLDER = "('selected', 'in_training', 'completed')"
PURCHASE = ("participant_id", "listing_id", "course_id", "platform_id", "sequence", "price_idr", "commission_bp")
RULES = {
    "listing": "enrollment.not_as_listed",
    "card": "enrollment.no_card",
    "balance": "enrollment.over_training_balance",
    "fixed": "enrollment.purchase_fixed",
    "cancel": "enrollment.cancel_unstarted",
}


def _as_listed(row: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM course_listing l JOIN course c ON c.id = l.course_id WHERE l.id = {row}.listing_id"
        f" AND l.course_id = {row}.course_id AND l.platform_id = {row}.platform_id"
        f" AND c.price_idr = {row}.price_idr AND l.commission_bp = {row}.commission_bp)"
    )


def _card_holder(participant_id: str) -> str:
    return f"EXISTS (SELECT 1 FROM participant p WHERE p.id = {participant_id} AND p.status IN {CARD_HOLDER})"


def _within_balance(participant_id: str, adding: str) -> str:
    """What the participant's live enrollments cost (plus `adding`) is within their wave's balance."""
    return (
        f"(SELECT coalesce(sum(e.price_idr), 0) FROM enrollment e WHERE e.participant_id = {participant_id}"
        f" AND e.status <> 'cancelled') + {adding} <= (SELECT w.training_balance_idr FROM participant p"
        f" JOIN wave w ON w.id = p.wave_id WHERE p.id = {participant_id})"
    )


def _changed(distinct: str) -> str:
    columns = " OR ".join(f"NEW.{column} {distinct} OLD.{column}" for column in PURCHASE)
    return f"({columns} OR (OLD.status = 'cancelled' AND NEW.status <> 'cancelled'))"


# A cancelled enrollment no longer counts against the balance: cancelling one that was taken (or
# paid for) would free its price for another purchase. The services cancel only one not started.
CANCELS_STARTED = ("(NEW.status = 'cancelled' AND OLD.status <> 'cancelled'"
                   " AND (OLD.status <> 'assigned' OR OLD.progress_pct > 0))")
# (trigger, rule, condition) of each check before an UPDATE of an enrollment.
UPDATE_GUARDS = (
    ("enrollment_purchase_fixed", "fixed", _changed),
    ("enrollment_cancel_unstarted", "cancel", lambda _distinct: CANCELS_STARTED),
)


def _sqlite() -> list[str]:
    checks = (
        ("listing", f"NOT {_as_listed('NEW')}"),
        ("card", f"NOT {_card_holder('NEW.participant_id')}"),
        # BEFORE the insert: the new row is not summed yet, so it is added. Only for a card holder:
        # someone without a card is told that, whichever trigger SQLite fires first.
        ("balance", f"{_card_holder('NEW.participant_id')}"
                    f" AND NOT coalesce({_within_balance('NEW.participant_id', 'NEW.price_idr')}, 0)"),
    )
    statements = [
        f"CREATE TRIGGER enrollment_{name}_insert BEFORE INSERT ON enrollment WHEN {condition}"
        f" BEGIN SELECT RAISE(ABORT, 'mitra-rule:{RULES[name]}'); END"
        for name, condition in checks
    ]
    statements += [
        f"CREATE TRIGGER {trigger} BEFORE UPDATE ON enrollment WHEN {condition('IS NOT')}"
        f" BEGIN SELECT RAISE(ABORT, 'mitra-rule:{RULES[rule]}'); END"
        for trigger, rule, condition in UPDATE_GUARDS
    ]
    return statements


def _raise(name: str) -> str:
    return f"RAISE EXCEPTION 'mitra-rule:{RULES[name]}' USING ERRCODE = '23514';"


def _postgres() -> list[str]:
    # After the statement: its rows are in the table, so the sum counts them.
    inserted = f"""CREATE FUNCTION mitra_enrollment_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT {_as_listed('n')}) THEN {_raise('listing')} END IF;
  IF EXISTS (SELECT 1 FROM new_rows n WHERE NOT {_card_holder('n.participant_id')}) THEN {_raise('card')} END IF;
  -- Two transactions buying for the same person take turns: the second's sum, a statement after
  -- the first's commit, counts the first's enrollments (the services lock the row as well).
  PERFORM 1 FROM participant WHERE id IN (SELECT participant_id FROM new_rows) ORDER BY id FOR UPDATE;
  IF EXISTS (SELECT 1 FROM (SELECT DISTINCT participant_id FROM new_rows) n
             WHERE NOT coalesce({_within_balance('n.participant_id', '0')}, false)) THEN {_raise('balance')} END IF;
  RETURN NULL;
END $$"""
    statements = [
        inserted,
        "CREATE TRIGGER enrollment_inserted AFTER INSERT ON enrollment REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION mitra_enrollment_inserted()",
    ]
    for trigger, rule, condition in UPDATE_GUARDS:
        statements += [
            f"CREATE FUNCTION mitra_{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {_raise(rule)} END $$",
            f"CREATE TRIGGER {trigger} BEFORE UPDATE ON enrollment FOR EACH ROW"
            f" WHEN {condition('IS DISTINCT FROM')} EXECUTE FUNCTION mitra_{trigger}()",
        ]
    return statements


def upgrade() -> None:
    for statement in _sqlite() if op.get_bind().dialect.name == "sqlite" else _postgres():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("enrollment_listing_insert", "enrollment_card_insert", "enrollment_balance_insert",
                     *(trigger for trigger, _rule, _condition in UPDATE_GUARDS)):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for trigger in ("enrollment_inserted", *(trigger for trigger, _rule, _condition in UPDATE_GUARDS)):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON enrollment")
        op.execute(f"DROP FUNCTION IF EXISTS mitra_{trigger}()")
