"""Two finance operators, in two processes, preparing batches from the same candidates at once:
every item ends on at most one live line, and every item is taken."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pytest
from sqlalchemy import func, select

from store.models import PaymentLine
from store.services import operators
from tests.payments_support import PaymentWorld

ITEMS = 400

PREPARER = textwrap.dedent(
    """
    import asyncio, os, sys, time
    from store.engine import create_database
    from store.errors import MitraError
    from store.services import operators
    from store.services.payments import batches
    from store.services.payments.payables import CandidateFilter, Scope

    async def main(url, username, start_file):
        db = create_database(url)
        actor = await operators.load_actor(db, username)
        while not os.path.exists(start_file):
            time.sleep(0.005)
        made, errors = [], []
        while True:
            try:
                batch = await batches.prepare_batch(db, actor, Scope.fees("tokopedia"), CandidateFilter(limit=7))
                made.append(batch.line_count)
            except MitraError as error:
                if error.key == "payment.no_candidates":
                    break
                errors.append(error.key)  # a busy database: try again
                if len(errors) > 50:
                    break
        await db.dispose()
        print(sum(made), len(made), ",".join(errors))

    asyncio.run(main(*sys.argv[1:]))
    """
)


@pytest.mark.slow
async def test_two_processes_preparing_at_once_never_share_an_item(db, db_url, actors, tmp_path):
    await operators.create_operator(db, actors.admin, "finance2", "demo-pass", ["finance"])
    world = PaymentWorld(db)
    provider = await world.provider()
    await world.provider_account(provider)
    listing = await world.listing(provider, "tokopedia")
    wave = await world.wave(1)
    await world.trainees(wave, listing, ITEMS)
    start = tmp_path / "go"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", PREPARER, db_url, username, str(start),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        for username in ("finance", "finance2")
    ]
    await asyncio.sleep(1.0)  # both processes have loaded and wait for the start
    start.touch()
    outputs = [await process.communicate() for process in processes]
    for process, (_out, err) in zip(processes, outputs):
        assert process.returncode == 0, err.decode()
    taken = [int(out.split()[0]) for out, _ in outputs]
    async with db.engine.connect() as connection:
        shared = (
            await connection.execute(
                select(PaymentLine.item_key)
                .where(PaymentLine.live)
                .group_by(PaymentLine.item_key)
                .having(func.count() > 1)
            )
        ).all()
        live = (await connection.execute(select(func.count()).select_from(PaymentLine).where(PaymentLine.live))).scalar_one()
    assert shared == []
    assert live == ITEMS == sum(taken)
