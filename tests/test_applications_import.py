"""`mitra import applications FILE`: good, mixed and unusable files, through the store and the CLI."""

from __future__ import annotations

import codecs

import pytest
from sqlalchemy import select

from store.csvio import decode
from store.errors import InvalidInput, PermissionDenied
from store.models import AuditEvent, PlatformApplication
from store.services.application_intake import import_applications
from store.uow import read_session
from tests.application_support import ALL_PROVINCES
from tests.cli_support import mitra

HEADER = "legal_name,brand_name,legal_form,nib,npwp,portal_url,provinces,third_party_providers,submitted_on"


def _line(name: str, nib: str, *, form: str = "pt", url: str = "https://example.id", provinces: str = ALL_PROVINCES,
          third: str = "12", npwp: str = "012345678901000") -> str:
    return f"PT {name},{name},{form},{nib},{npwp},{url},{provinces},{third},2026-10-01"


GOOD = "\n".join([HEADER, _line("Satu", "9200000000001"), _line("Dua", "9200000000002", form="bumn")]) + "\n"
MIXED = "\n".join([
    HEADER,
    _line("Satu", "9200000000001"),
    _line("Dua", "12345"),  # line 3: NIB
    _line("Tiga", "9200000000003", provinces="31 32 77"),  # line 4: province 77
    ",Empat,pt,9200000000004,012345678901000,https://empat.id,31,1,2026-10-01",  # line 5: legal name
    _line("Lima", "9200000000005", url="nowhere", npwp="99"),  # line 6: two fields wrong
    _line("Enam", "9200000000001"),  # line 7: same company as line 2, already under way
    "PT Tujuh,Tujuh,pt",  # line 8: too few fields
]) + "\n"


async def _names(db) -> list[str]:
    async with read_session(db) as session:
        return list((await session.execute(select(PlatformApplication.brand_name).order_by(PlatformApplication.id))).scalars())


async def test_a_good_file_imports_every_row_as_submitted(db, actors):
    report = await import_applications(db, actors.reviewer, GOOD, source_name="good.csv")
    assert (report.read, report.imported, report.rejected, report.exit_status) == (2, 2, 0, 0)
    assert await _names(db) == ["Satu", "Dua"]
    async with read_session(db) as session:
        events = (await session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(3))).scalars().all()
    assert events == ["application.imported", "application.submitted", "application.submitted"]


async def test_a_mixed_file_imports_the_good_rows_and_names_each_bad_field(db, actors):
    report = await import_applications(db, actors.reviewer, MIXED)
    assert (report.read, report.imported, report.rejected, report.exit_status) == (7, 1, 6, 2)
    assert [(e.line, e.column, e.key) for e in report.errors] == [
        (3, "nib", "input.nib"),
        (4, "provinces", "input.province"),
        (5, "legal_name", "input.required"),
        (6, "npwp", "input.npwp"),
        (6, "portal_url", "input.url"),
        (7, "nib", "application.already_open"),
        (8, "row", "input.csv.fields"),
    ]
    assert await _names(db) == ["Satu"]


async def test_semicolons_and_a_byte_order_mark_are_read(db, actors):
    data = codecs.BOM_UTF8 + GOOD.replace(",", ";").encode("utf-8")
    report = await import_applications(db, actors.reviewer, decode(data))
    assert (report.imported, report.rejected) == (2, 0)


async def test_a_wrong_header_refuses_the_whole_file(db, actors):
    with pytest.raises(InvalidInput) as refused:
        await import_applications(db, actors.reviewer, GOOD.replace("legal_name", "company"))
    assert refused.value.key == "input.csv.header"
    assert "legal_name" in refused.value.params["missing"] and refused.value.params["unknown"] == "company"
    assert await _names(db) == []


async def test_importing_needs_the_intake_permission(db, actors):
    with pytest.raises(PermissionDenied):
        await import_applications(db, actors.approver, GOOD)


def _run(db_url: str, path, *extra: str):
    return mitra("import", "applications", str(path), "--db", db_url, "--operator", "reviewer", "--lang", "en", *extra)


def test_cli_exit_status_and_messages(db_url, tmp_path):
    good, mixed, wrong = tmp_path / "good.csv", tmp_path / "mixed.csv", tmp_path / "wrong.csv"
    good.write_text(GOOD.replace("9200000000001", "9200000000011").replace("9200000000002", "9200000000012"))
    mixed.write_text(MIXED)
    wrong.write_text("name,nib\nx,1\n")

    result = _run(db_url, good)
    assert result.returncode == 0, result.output
    assert "Read 2 rows: 2 imported, 0 rejected." in result.output

    errors_csv = tmp_path / "errors.csv"
    result = _run(db_url, mixed, "--errors", str(errors_csv))
    assert result.returncode == 2
    assert 'line 3, column nib: NIB: "12345" is not a NIB (13 digits).' in result.output
    assert "line 4, column provinces: Provinces: unknown province code 77." in result.output
    assert "line 7, column nib: NIB: this company already has an application under way" in result.output
    assert "Read 7 rows: 1 imported, 6 rejected." in result.output
    header = errors_csv.read_text().splitlines()[0].split(",")
    assert header[0] == "legal_name" and header[-2:] == ["error_line", "error_reason"]  # the file's columns, then why

    result = _run(db_url, wrong)
    assert result.returncode == 1
    assert "Wrong header" in result.output

    result = _run(db_url, tmp_path / "missing.csv")
    assert result.returncode == 1 and "Cannot read" in result.output


def test_platforms_commands_list_and_roll_obligations(db_url):
    def run(*args: str):
        return mitra("platforms", *args, "--db", db_url, "--operator", "admin", "--lang", "en")

    result = run("roll-obligations", "--through", "2026-11-15", "--start", "2026-10-01")
    assert result.returncode == 0, result.output
    assert "Obligation periods opened through 2026-11-15: 160 new items for 8 platforms." in result.output
    result = run("roll-obligations", "--through", "2026-11-15")
    assert "0 new items" in result.output
    result = run("list")
    assert result.returncode == 0
    lines = [line for line in result.output.splitlines() if line.startswith("tokopedia")]
    assert lines and "active" in lines[0] and "overdue reports" in lines[0]
