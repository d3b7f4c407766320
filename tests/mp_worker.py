"""One process of the multi-process harness (tests/test_multiprocess_invariants.py).

    python -m tests.mp_worker URL SEED SECONDS

For SECONDS it takes random steps as the office would, through the store's services only:
select a wave, assign a course to one participant, bulk-assign a province of a wave, complete an
active course, prepare a platform's fee batch, submit it, approve it. Refusals the rules give
(RuleViolation, Conflict) are expected and counted; any other error ends the process with exit
code 1 and its traceback. Prints a JSON report: the waves it selected (with the count its
selection reported), and how many of each step went through or were refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sys
import time
from collections import Counter

from sqlalchemy import select

from store.engine import create_database
from store.errors import Conflict, RuleViolation
from store.models import BatchState, CourseListing, Enrollment, Participant, PaymentBatch, Wave
from store.services import bulk_assignment, enrollments, operators, selection
from store.services.payments import batches
from store.services.payments.payables import Scope
from store.uow import read_session

WAVES = (31, 32, 33, 34)
# Purchases dated on the waves' first day (two days ago), so a course completed today took long
# enough not to be held as too fast, and its fee becomes payable.
BOUGHT_AT = dt.datetime.combine(dt.date.today() - dt.timedelta(days=2), dt.time(9), tzinfo=dt.UTC)
PLATFORMS = ("tokopedia", "bukalapak")


async def _ids(db, query) -> list:
    async with read_session(db) as session:
        return list((await session.execute(query)).scalars())


async def main(url: str, seed: int, seconds: float) -> dict:
    rng = random.Random(seed)
    db = create_database(url)
    report: dict = {"selected": {}, "done": Counter(), "refused": Counter()}
    try:
        actors = {name: await operators.load_actor(db, name)
                  for name in ("coordinator", "finance", "approver", "approver2")}
        listings = await _ids(db, select(CourseListing.id).order_by(CourseListing.id))
        wave_ids = dict(await _pairs(db, select(Wave.number, Wave.id)))

        async def select_wave():
            number = rng.choice(WAVES)
            result = await selection.select_participants(db, actors["coordinator"], number, seed=rng.randrange(2**31))
            report["selected"][str(number)] = result.selected

        async def assign_one():
            candidates = await _ids(db, select(Participant.id).where(Participant.status == "selected").limit(200))
            if candidates:
                await enrollments.assign(db, actors["coordinator"], rng.choice(candidates), rng.choice(listings),
                                         at=BOUGHT_AT)

        async def assign_bulk():
            number = rng.choice(WAVES)
            await bulk_assignment.run(
                db, actors["coordinator"], bulk_assignment.BulkFilter(wave_id=wave_ids[number], province=rng.choice(["32", "33"])),
                rng.choice(listings), at=BOUGHT_AT,
            )

        async def complete_one():
            active = await _ids(db, select(Enrollment.id).where(Enrollment.status.in_(("assigned", "in_progress"))).limit(200))
            if active:
                chosen = rng.choice(active)
                await enrollments.complete(db, actors["coordinator"], chosen, dt.date.today(), f"MP-{seed}-{chosen}",
                                           review_given=True)

        async def prepare():
            await batches.prepare_batch(db, actors["finance"], Scope.fees(rng.choice(PLATFORMS)))

        async def submit():
            drafts = await _ids(db, select(PaymentBatch.id).where(PaymentBatch.state == BatchState.DRAFT))
            if drafts:
                await batches.submit_batch(db, actors["finance"], rng.choice(drafts))

        async def approve():
            waiting = await _ids(db, select(PaymentBatch.id).where(PaymentBatch.state == BatchState.SUBMITTED))
            if waiting:
                await batches.approve_batch(db, actors[rng.choice(["approver", "approver2"])], rng.choice(waiting))

        steps = [select_wave, assign_one, assign_one, assign_bulk, complete_one, complete_one, prepare, submit, approve]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            step = rng.choice(steps)
            try:
                await step()
                report["done"][step.__name__] += 1
            except (RuleViolation, Conflict) as refused:
                report["refused"][refused.key] += 1
    finally:
        await db.dispose()
    return report


async def _pairs(db, query) -> list:
    async with read_session(db) as session:
        return list((await session.execute(query)).all())


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))))
