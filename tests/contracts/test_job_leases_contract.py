"""The JobLeases contract, run against the in-memory leases and the SQL leases (SQLite,
PostgreSQL). Each ``open_store()`` of a SQL backend is a new ``Database``: another process, as far
as the database can tell."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_support import Opener, same_instance
from sql_contract_support import implementations, opened

from trainerbot.adapters.memory import InMemoryJobLeases
from trainerbot.adapters.sql import SqlJobLeases
from trainerbot.ports import JobLeases

IMPLEMENTATIONS: dict[str, Callable[[Path], Opener[JobLeases]]] = {
    "memory": lambda tmp: same_instance(InMemoryJobLeases()),
}

LONG = 60.0  # a lease that does not expire during a test
SHORT = 0.05  # a lease that expires at once, as a dead process's does


@pytest.fixture(params=implementations(IMPLEMENTATIONS))
async def open_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Opener[JobLeases]]:
    async with opened(request, tmp_path, IMPLEMENTATIONS, SqlJobLeases) as opener:
        yield opener


@pytest.fixture
def leases(open_store: Opener[JobLeases]) -> JobLeases:
    return open_store()


async def eventually(claim: Callable[[], object], within: float = 10.0) -> None:
    """Until ``claim()`` (awaited) gives True; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await claim():  # type: ignore[misc]
        assert time.monotonic() < deadline, "the lease never became free"
        await asyncio.sleep(0.02)


def test_it_implements_the_port(leases: JobLeases) -> None:
    assert isinstance(leases, JobLeases)


async def test_a_free_lease_is_claimed_and_its_holder_may_claim_it_again(
    leases: JobLeases,
) -> None:
    assert await leases.claim("job-a", "one", LONG)
    assert await leases.claim("job-a", "one", LONG)  # a renewal


async def test_a_live_lease_is_not_claimed_by_another_holder(
    open_store: Opener[JobLeases],
) -> None:
    first, second = open_store(), open_store()
    assert await first.claim("job-a", "one", LONG)

    assert not await second.claim("job-a", "two", LONG)
    assert await second.claim("job-b", "two", LONG)  # leases are per job
    assert await first.claim("job-a", "one", LONG)  # still the first's


async def test_two_holders_racing_for_one_lease_one_wins(
    open_store: Opener[JobLeases],
) -> None:
    holders = [f"holder-{n}" for n in range(6)]
    stores = [open_store() for _ in holders]

    won = await asyncio.gather(
        *(store.claim("job-a", holder, LONG) for store, holder in zip(stores, holders, strict=True))
    )

    assert sum(won) == 1
    [winner] = [holder for holder, held in zip(holders, won, strict=True) if held]
    assert await stores[0].claim("job-a", winner, LONG)


async def test_an_expired_lease_is_taken_over_and_its_old_holder_loses_it(
    open_store: Opener[JobLeases],
) -> None:
    dead, alive = open_store(), open_store()
    assert await dead.claim("job-a", "dead", SHORT)

    await eventually(lambda: alive.claim("job-a", "alive", LONG))

    assert not await dead.claim("job-a", "dead", LONG)
    assert not await dead.finish("job-a", "dead")  # it must not post: another took over
    assert await alive.finish("job-a", "alive")


async def test_a_finished_lease_is_claimed_by_nobody_ever_again(
    open_store: Opener[JobLeases],
) -> None:
    first, second = open_store(), open_store()
    assert await first.claim("job-a", "one", SHORT)

    assert await first.finish("job-a", "one")
    await asyncio.sleep(SHORT * 2)  # long expired: finished still wins

    assert not await second.claim("job-a", "two", LONG)
    assert not await first.claim("job-a", "one", LONG)
    assert not await first.finish("job-a", "one")  # once only


async def test_a_lease_not_held_cannot_be_finished(leases: JobLeases) -> None:
    assert not await leases.finish("job-never-claimed", "one")
    assert await leases.claim("job-a", "one", LONG)
    assert not await leases.finish("job-a", "two")
    assert await leases.claim("job-a", "one", LONG)  # still the first's, unfinished


async def test_a_released_lease_is_claimed_by_another_at_once(
    open_store: Opener[JobLeases],
) -> None:
    first, second = open_store(), open_store()
    assert await first.claim("job-a", "one", LONG)

    await second.release("job-a", "two")  # not its lease: nothing changes
    assert not await second.claim("job-a", "two", LONG)
    await first.release("job-a", "one")

    assert await second.claim("job-a", "two", LONG)
    assert not await first.claim("job-a", "one", LONG)


async def test_releasing_a_finished_lease_leaves_it_finished(leases: JobLeases) -> None:
    assert await leases.claim("job-a", "one", LONG)
    assert await leases.finish("job-a", "one")

    await leases.release("job-a", "one")

    assert not await leases.claim("job-a", "two", LONG)
