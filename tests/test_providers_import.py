"""`mitra import providers FILE` and `mitra curation scheme`, run as the operator runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import select

from store.models import Provider, ProviderDocument, ProviderPlatform
from store.uow import read_session
from tests import providers_support as ps
from tests.cli_support import amitra

HEADER = "name,legal_form,nib,npwp,province,address,online,offline,founded_on,platforms,documents_present"


async def mitra(*args: str, operator: str = "tokopedia") -> tuple[int, str, str]:
    ran = await amitra(*args, "--operator", operator)
    return ran.returncode, ran.stdout, ran.stderr


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


async def test_good_rows_are_imported_and_bad_rows_reported_by_line_and_column(db, db_url, tmp_path):
    path = write(tmp_path, "lp.csv", "\n".join([
        HEADER,
        "PT Satu Maju,pt,3171000000001,012345678901000,31,Jl. Satu 1,yes,no,2015-01-01,,deed nib npwp",
        "PT Dua,pt,12345,012345678901000,31,Jl. Dua 2,yes,no,2015-01-01,,",
        "PT Tiga,pt,3171000000003,012345678901000,99,Jl. Tiga 3,yes,no,2015-01-01,,",
        "PT Empat,pt,3171000000001,012345678901000,31,Jl. Empat 4,yes,no,2015-01-01,,",
        "PT Lima,pt,3171000000005,012345678901000,31,Jl. Lima 5,yes,no,2015-01-01,bukalapak,",
        "LKP Enam,other_private,3171000000006,012345678901000,32,Jl. Enam 6,no,yes,,tokopedia,all",
        "LKP Tujuh,other_private,3171000000007,012345678901000,32,Jl. Tujuh 7,no,yes,,tokopedia,deed",
    ]) + "\n")
    errors_csv = tmp_path / "errors.csv"
    status, out, err = await mitra("import", "providers", path, "--db", db_url, "--errors", str(errors_csv))
    assert status == 2, err
    assert "Read 7 rows: 2 imported, 5 rejected." in out
    lines = err.strip().splitlines()
    assert lines[0].startswith("line 3, column nib: ")
    assert lines[1].startswith("line 4, column province: ")
    assert lines[2] == "line 5, column nib: A provider with NIB 3171000000001 is already recorded (PT Satu Maju)."
    assert lines[3] == "line 6, column platforms: This record belongs to another platform."
    assert lines[4].startswith("line 7, column documents_present: ")
    with errors_csv.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["error_line"], row["name"]) for row in rows] == [
        ("3", "PT Dua"), ("4", "PT Tiga"), ("5", "PT Empat"), ("6", "PT Lima"), ("7", "LKP Enam"),
    ]
    assert rows[0]["nib"] == "12345" and "NIB" in rows[0]["error_reason"]
    async with read_session(db) as session:
        imported = dict((await session.execute(select(Provider.nib, Provider.id))).all())
        assert set(imported) == {"3171000000001", "3171000000007"}
        present = set((await session.execute(select(ProviderDocument.kind).where(
            ProviderDocument.provider_id == imported["3171000000001"], ProviderDocument.status == "present"))).scalars())
        platforms = set((await session.execute(select(ProviderPlatform.platform_id))).scalars())
    assert present == {"deed", "nib", "npwp"}
    assert platforms == {await ps.platform_id(db, "tokopedia")}
    events = await ps.events(db, "provider.inventoried")
    assert len(events) == 2 and all(event.operator_name == "tokopedia" for event in events)
    assert ps.changes(events[0])["details"] == {"source": "lp.csv"}


async def test_a_clean_file_exits_zero(db, db_url, tmp_path):
    path = write(tmp_path, "ok.csv", HEADER.replace(",", ";") + "\n"
                 "PT Titik Koma;pt;3171000000011;012345678901000;31;Jl. Koma 1;ya;tidak;2010-10-10;;\n")
    status, out, err = await mitra("import", "providers", path, "--db", db_url)
    assert (status, err) == (0, "")
    assert "Read 1 rows: 1 imported, 0 rejected." in out


async def test_a_wrong_header_refuses_the_whole_file(db, db_url, tmp_path):
    path = write(tmp_path, "wrong.csv", "name,nib,colour\nPT X,3171000000001,blue\n")
    status, _out, err = await mitra("import", "providers", path, "--db", db_url)
    assert status == 1
    assert "Wrong header" in err and "colour" in err
    async with read_session(db) as session:
        assert (await session.execute(select(Provider.id))).all() == []


async def test_curators_cannot_import(db, db_url, tmp_path):
    path = write(tmp_path, "lp.csv", HEADER + "\n")
    status, _out, err = await mitra("import", "providers", path, "--db", db_url, operator="finance")
    assert status == 1 and "provider.inventory" in err


async def test_scheme_show_and_set_write_a_new_version(db, db_url, tmp_path):
    status, out, _err = await mitra("curation", "scheme", "show", "--db", db_url, operator="admin")
    assert status == 0
    scheme = json.loads(out)
    assert scheme["version"] == 1
    scheme["stages"]["governance"]["threshold_centi"] = 275
    path = write(tmp_path, "scheme.json", json.dumps(scheme))
    status, out, err = await mitra("curation", "scheme", "set", path, "--db", db_url, operator="curator")
    assert status == 1 and "scheme.change" in err
    status, out, err = await mitra("curation", "scheme", "set", path, "--db", db_url, operator="admin")
    assert status == 0, err
    assert "version 2" in out
    status, out, _err = await mitra("curation", "scheme", "show", "--db", db_url, operator="admin")
    assert json.loads(out)["stages"]["governance"]["threshold_centi"] == 275
    broken = write(tmp_path, "broken.json", "{not json")
    status, _out, err = await mitra("curation", "scheme", "set", broken, "--db", db_url, operator="admin")
    assert status == 1 and "not valid" in err


async def test_affiliation_is_recorded_with_its_reason(db, db_url, actors):
    status, out, err = await mitra(
        "curation", "affiliation", "curator", "--group", "telkom", "--reason", "Worked at Telkom until 2022",
        "--db", db_url, operator="admin",
    )
    assert status == 0, err
    [event] = await ps.events(db, "operator.affiliation_declared")
    assert event.reason == "Worked at Telkom until 2022"
