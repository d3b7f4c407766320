"""Hostile files and numbers: every bad row gets a reason, nothing ends as "Unexpected error",
nothing half-written. The examples are samples; the fixes are in shared code (store/csvio.py,
store/validators.py, store/column_guard.py, store/failures.py) and the property tests below feed
arbitrary text to the parsers and validators."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select

from store import csvio, validators
from store.errors import InvalidInput, MitraError
from store.models import Participant, PlatformApplication
from store.services import application_intake, participant_import, waves
from store.services.payments import accounts
from store.uow import read_session, unit_of_work
from tests.participants_support import person, wave_input, write_csv

HUGE = "x" * 200_000  # past the csv module's 131,072-character field limit


async def _participants(db) -> int:
    async with read_session(db) as session:
        return (await session.execute(select(func.count()).select_from(Participant))).scalar_one()


async def test_participant_import_gives_each_hostile_row_a_reason(db, actors, tmp_path):
    good = person()
    rows = [
        good,
        {**person(), "full_name": HUGE},
        {**person(), "email": "a" * 290 + "@example.com"},  # longer than the column
        {**person(), "full_name": "Budi\x00Santoso"},
        {**person(), "phone": "08123456789²"},
        {**person(birth=dt.date(1990, 5, 17)), "birth_date": (dt.date.today() + dt.timedelta(days=400)).isoformat()},
    ]
    report = await participant_import.import_participants(db, actors.coordinator, write_csv(tmp_path / "p.csv", rows))
    assert (report.read, report.imported, report.rejected) == (6, 1, 5)
    assert all(error.key != "error.unexpected" for error in report.errors)
    assert {error.line for error in report.errors} == {3, 4, 5, 6, 7}
    assert await _participants(db) == 1


async def test_the_other_importers_survive_an_overlong_field(db, actors, tmp_path):
    header = ",".join(application_intake.REQUIRED_COLUMNS)
    text = f"{header}\nPT Satu,Satu,pt,{'1' * 13},{'2' * 15},https://satu.id,32\n" + f"{HUGE},{HUGE}\n"
    report = await application_intake.import_applications(db, actors.reviewer, text)
    assert report.read == 2 and report.rejected >= 1
    assert all(error.key != "error.unexpected" for error in report.errors)

    accounts_text = ",".join(accounts.IMPORT_COLUMNS) + "\n" + f"{HUGE},bank,BNI,1234567,Budi,{HUGE}\n"
    report = await accounts.import_participant_accounts(db, actors.finance, accounts_text)
    assert report.rejected == 1 and report.errors[0].key == "input.csv.unreadable_row"

    path = tmp_path / "exclusions.csv"
    path.write_text(f"nik\n{HUGE}\n\x00\n", encoding="utf-8")
    outcome = await participant_import.import_exclusions(db, actors.coordinator, path, "formal_education", "PDDikti",
                                                         dt.date(2024, 1, 1))
    assert outcome.report.rejected == 2 and outcome.list_id is None


async def test_twenty_digit_amounts_are_refused_in_rupiah(db, actors):
    with pytest.raises(InvalidInput) as refused:
        await waves.create_wave(db, actors.admin, dataclasses.replace(wave_input(31), budget_idr=10**20))
    assert refused.value.key == "input.amount_too_large"
    from tui.i18n import describe_error

    assert "Rp100.000.000.000.000" in describe_error(refused.value) or "Rp100,000,000,000,000" in describe_error(refused.value)
    with pytest.raises(InvalidInput) as refused:
        validators.positive_money("123456789012345678901", "price_idr")
    assert refused.value.key == "input.amount_too_large"


async def test_any_row_written_is_checked_against_its_columns(db, actors):
    """Whatever path writes, a value longer than its column, a NUL byte or an amount past the
    ceiling is refused with the column's name, on SQLite (which would store it) and PostgreSQL."""
    from store.models import Setting

    with pytest.raises(InvalidInput) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            uow.session.add(Setting(key="k" * 101, value="v"))
    assert (refused.value.key, refused.value.params["field"]) == ("input.too_long", "key")
    with pytest.raises(InvalidInput) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            uow.session.add(Setting(key="nul\x00", value="v"))
    assert refused.value.key == "input.control_characters"
    async with read_session(db) as session:
        assert (await session.execute(select(func.count()).select_from(Setting).where(Setting.key.like("nul%")))).scalar_one() == 0


async def test_an_application_import_is_one_transaction(db, actors):
    """A row the database refuses is reported, the rest goes in, and nothing is half-written."""
    header = ",".join(application_intake.REQUIRED_COLUMNS)
    row = "PT {n},Merek {n},pt,{nib},{npwp},https://m{n}.id,32"
    text = "\n".join([header, row.format(n=1, nib="1" * 13, npwp="2" * 15), row.format(n=2, nib="1" * 13, npwp="3" * 15),
                      row.format(n=3, nib="4" * 13, npwp="5" * 15)]) + "\n"
    report = await application_intake.import_applications(db, actors.reviewer, text)
    assert (report.imported, report.rejected) == (2, 1)
    async with read_session(db) as session:
        assert (await session.execute(select(func.count()).select_from(PlatformApplication))).scalar_one() == 2


# --- property tests: arbitrary text gives a typed refusal or a value, nothing else ----------------

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(TEXT)
def test_validators_refuse_or_return(value):
    for check in (
        lambda v: validators.positive_money(v, "price_idr"),
        lambda v: validators.count(v, "quota"),
        lambda v: validators.iso_date(v, "starts_on"),
        lambda v: validators.nik(v),
        lambda v: validators.phone(v),
        lambda v: validators.email(v),
        lambda v: validators.percentage_bp(v, "commission"),
        lambda v: participant_import.birth_date(v),
    ):
        try:
            check(value)
        except MitraError:
            pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(max_size=300))
def test_csv_rows_refuse_or_return(body):
    try:
        for _line, row in csvio.rows("nik,full_name\n" + body, ("nik", "full_name")):
            csvio.malformed(row, 2)
            participant_import.participant_fields({**dict.fromkeys(participant_import.PARTICIPANT_COLUMNS, ""), **row})
    except MitraError:
        pass


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_refused(data):
    try:
        csvio.decode(data)
    except MitraError:
        pass


ROW = st.fixed_dictionaries({
    "full_name": st.text(max_size=210),  # VARCHAR(200): past it sometimes
    "email": st.one_of(st.none(), st.text(max_size=30)),
    "balance_idr": st.one_of(st.none(), st.integers(min_value=-2 * validators.MAX_AMOUNT_IDR,
                                                    max_value=2 * validators.MAX_AMOUNT_IDR)),
})


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(ROW, min_size=1, max_size=6))
def test_a_bulk_insert_refuses_a_batch_exactly_when_one_of_its_rows_is_refused(rows):
    """The bulk guard checks a column at a time (store/column_guard.check_rows): it lets a batch
    through, or refuses it with a reason, exactly as checking each row by itself would."""
    from store.column_guard import check_rows

    table = Participant.__table__
    by_row = _refusals(table, rows)
    try:
        check_rows(table, rows)
    except InvalidInput as refused:
        assert by_row, f"refused a batch whose rows all pass: {refused.key}"
        field = refused.params["field"]  # named truly: some row's value of that column breaks that rule
        assert refused.key in _refusals(table, [{field: row[field]} for row in rows])
    else:
        assert not by_row, f"let through a batch with a refused row: {by_row}"


def _refusals(table, rows) -> list[str]:
    from store.column_guard import check_row

    found = []
    for row in rows:
        try:
            check_row(table, row)
        except InvalidInput as refused:
            found.append(refused.key)
    return found


async def test_a_bulk_insert_the_database_refuses_is_a_typed_error_on_both_back_ends(db, actors):
    """store/bulk.py writes through the drivers' own calls (COPY, executemany), beneath
    SQLAlchemy: what the database refuses there is classified like any statement's refusal
    (here a NIK already taken: a conflict naming the constraint), never "Unexpected error"."""
    from store.bulk import insert_rows
    from store.errors import Conflict
    from store.services.registry import new_participant_row

    values = participant_import.participant_fields(person())[0]
    row = new_participant_row(**values, created_at=dt.datetime.now(dt.UTC))
    async with unit_of_work(db, actors.admin) as uow:
        await insert_rows(uow.session, Participant.__table__, [row])
    twin = dict(row)  # the same NIK again
    with pytest.raises(Conflict) as refused:
        async with unit_of_work(db, actors.admin) as uow:
            await insert_rows(uow.session, Participant.__table__, [twin])
    assert refused.value.params["constraint"] in ("uq_participant_nik", "participant.nik")
    assert await _participants(db) == 1
