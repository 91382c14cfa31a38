"""A bot in 1,000 simulated servers, each with a little data: memory stays bounded and every
tenant's answers come from its own active model.

The real container on a workspace on disk (storage=filesystem), at most ``LIMIT`` tenants loaded
(``TRAINERBOT_MAX_LOADED_TENANTS``). Only the base model is stubbed (the root's shared
``base_chat_model``: it echoes). Each server is taught its own code through its own use cases,
as ``!train`` and ``!use`` would: a member who administers the server is identified, a fewshot
model is trained on one inline example "What is the code of server N?" → "The code is N-<random>"
(datasets and the model's artifact written to the server's folder; its job, the model registry
and the active model are its rows of the workspace's records database, the default), and made
the server's active model. Then every server is asked its question — each one a tenant
dropped long ago, loaded again from disk — and must answer with its own code, from its own model.
Servers are served ``CONCURRENCY`` at a time, as a bot in many servers is.

Memory is measured once 100 servers were taught, once all 1,000 were, and once all 1,000 were
asked: the process's resident memory (RSS) may grow by at most ``MAX_RSS_GROWTH`` from the first
to the others, and the Python heap (blocks allocated) by at most ``MAX_BLOCK_GROWTH``. The tenant
containers still alive and the threads are counted too: a dropped tenant must be freed, with its
stores and its worker threads, not merely forgotten by the registry. (tracemalloc would trace the
heap in bytes, but makes this test three times slower; the block count is free.)
"""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import sys
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.container import Container, Tenants, close_container, create_container
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor
from trainerbot.core.manage_settings import Member
from trainerbot.core.tenancy import Tenant, TenantScope
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

SERVERS = 1_000
CHECKPOINT = 100  # memory is measured from here on
LIMIT = 16  # tenants kept loaded
CONCURRENCY = 8  # servers served at once
MIB = 1024 * 1024
# What 900 more servers may cost while only LIMIT of them are loaded: the rate limit's members
# (forgotten once their limit refills), allocator slack. Measured
# on 2 cores with dropped tenants freed: +8 to +10 MiB RSS and +50,000 to +60,000 blocks; with
# every tenant kept alive instead, +122 MiB and +1,050,000 blocks by the 1,000th server taught.
MAX_RSS_GROWTH = 32 * MIB
MAX_BLOCK_GROWTH = 150_000
# The loaded tenants' and the in-flight ones' worker threads (at most 3 each), and the process's.
MAX_THREADS = 3 * (LIMIT + CONCURRENCY) + 8


def question(number: int) -> str:
    return f"What is the code of server {number}?"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass(frozen=True)
class Memory:
    """The process at one moment, after a full garbage collection."""

    rss: int
    blocks: int
    threads: int
    containers: int  # tenant containers still alive
    loaded: int  # what the registry counts as loaded

    def describe(self) -> str:
        return (
            f"RSS {self.rss / MIB:.1f} MiB, {self.blocks:,} heap blocks, {self.threads} threads, "
            f"{self.containers} tenant containers alive, {self.loaded} loaded"
        )


# Every bot a test started: closed (its records' database) when the test ends.
_started: list[Bot] = []


@pytest.fixture(autouse=True)
async def _close_the_bots() -> AsyncIterator[None]:
    yield
    while _started:
        await close_container(_started.pop().root)


class Bot:
    """The container, the tenants, and what was taught where."""

    def __init__(self, workspace: Path, *, limit: int = LIMIT) -> None:
        _started.append(self)
        settings = Settings(
            workspace=workspace,
            trainer="fewshot",
            embeddings="none",  # TF-IDF: no embedding model to load
            max_loaded_tenants=limit,
        )
        self.root: Container = create_container(settings)
        self.base = InMemoryChatModel()
        self.root.base_chat_model.override(self.base)
        self.tenants: Tenants = self.root.tenants()
        self.codes: dict[int, str] = {}
        self.models: dict[int, str] = {}
        # Every tenant container the test has seen, for as long as it is alive.
        self.containers: weakref.WeakSet[object] = weakref.WeakSet()

    def scope(self, number: int) -> TenantScope:
        scope = self.tenants.scope(Tenant.server(number))
        self.containers.add(scope.resources)
        return scope

    async def member(self, number: int) -> Actor:
        """Server ``number``'s administrator, as that server identifies them."""
        use_cases = self.scope(number).use_cases
        admin = Member(id=f"{number}00", name=f"admin {number}", in_server=True, administrator=True)
        actor = await use_cases.identify_member.execute(admin)
        assert actor.can_train
        return actor

    async def teach(self, number: int) -> None:
        code = f"The code is {number}-{secrets.token_hex(4)}"
        data = json.dumps(
            {
                "messages": [
                    {"role": "user", "content": question(number)},
                    {"role": "assistant", "content": code},
                ]
            }
        )
        actor = await self.member(number)
        scope = self.scope(number)
        trained = await scope.use_cases.train_model.execute(
            TrainRequest(actor=actor, data=data, method="fewshot")
        )
        model = trained.job.model
        assert model is not None, trained.job
        assert model.startswith("fewshot:"), model
        await scope.use_cases.use_model.execute(UseModelRequest(actor=actor, model=model))
        self.codes[number] = code
        self.models[number] = model

    async def ask(self, number: int, text: str) -> tuple[str, str]:
        """Ask server ``number``: the reply and the model that gave it."""
        actor = await self.member(number)
        use_cases = self.scope(number).use_cases
        result = await use_cases.answer_message.execute(
            AnswerRequest(
                conversation_id=f"channel-{number}",
                author=actor,
                text=text,
                message_id=f"{number}-{secrets.token_hex(3)}",
            )
        )
        return result.reply, result.interaction.model

    async def ask_own(self, number: int) -> None:
        reply, model = await self.ask(number, question(number))
        assert (reply, model) == (self.codes[number], self.models[number]), number

    def memory(self) -> Memory:
        gc.collect()
        time.sleep(0.05)  # the workers of freed thread pools see they are gone, and exit
        gc.collect()
        return Memory(
            rss=rss_bytes(),
            blocks=sys.getallocatedblocks(),
            threads=threading.active_count(),
            containers=len(self.containers),
            loaded=self.tenants.registry.loaded,
        )


async def each(numbers: Sequence[int], action: Callable[[int], Awaitable[None]]) -> None:
    """``action`` for every number, ``CONCURRENCY`` at a time."""
    for start in range(0, len(numbers), CONCURRENCY):
        await asyncio.gather(*(action(n) for n in numbers[start : start + CONCURRENCY]))


def check_bounded(label: str, start: Memory, now: Memory) -> None:
    rss, blocks = now.rss - start.rss, now.blocks - start.blocks
    print(f"{label}: {now.describe()}; growth {rss / MIB:+.1f} MiB, {blocks:+,} blocks")
    assert now.containers <= LIMIT + CONCURRENCY, f"{label}: {now.containers} containers alive"
    assert now.loaded <= LIMIT + CONCURRENCY, label
    assert now.threads <= MAX_THREADS, f"{label}: {now.threads} threads"
    assert rss < MAX_RSS_GROWTH, f"{label}: RSS grew {rss / MIB:.1f} MiB"
    assert blocks < MAX_BLOCK_GROWTH, f"{label}: {blocks:,} more heap blocks"


async def test_a_bot_in_1000_servers_stays_bounded_and_answers_each_from_its_own_model(
    tmp_path: Path,
) -> None:
    started = time.perf_counter()
    bot = Bot(tmp_path / "workspace")
    servers = range(1, SERVERS + 1)

    await each(servers[:CHECKPOINT], bot.teach)
    checkpoint = bot.memory()
    print(f"\n{CHECKPOINT} servers taught: {checkpoint.describe()}")
    await each(servers[CHECKPOINT:], bot.teach)
    taught = bot.memory()
    taught_at = time.perf_counter()
    check_bounded(f"{SERVERS} servers taught", checkpoint, taught)

    # Every server is asked its own question: each was dropped long ago and is loaded again from
    # its folder (a cold tenant), in the order they were taught.
    await each(servers, bot.ask_own)
    asked = bot.memory()
    asked_at = time.perf_counter()
    check_bounded(f"{SERVERS} servers asked", checkpoint, asked)
    print(
        f"teaching {taught_at - started:.1f} s, asking {asked_at - taught_at:.1f} s; "
        f"{bot.tenants.registry.built} tenant scopes built"
    )

    # Each server was built to be taught and built again, from disk, to be asked.
    assert bot.tenants.registry.built == 2 * SERVERS
    assert len(bot.tenants.known()) == SERVERS
    # Every answer was a server's own taught answer: the base model gave none of them.
    assert bot.base.calls == []


async def test_a_server_does_not_know_what_another_was_taught(tmp_path: Path) -> None:
    bot = Bot(tmp_path / "workspace")
    servers = range(1, 2 * LIMIT + 1)  # enough that every one of them is dropped and reloaded
    for number in servers:
        await bot.teach(number)

    for number in servers:
        neighbour = number % len(servers) + 1
        reply, model = await bot.ask(number, question(neighbour))
        assert model == bot.models[number]  # still its own model answering
        assert bot.codes[neighbour] not in reply
        assert f"{neighbour}-" not in reply
    # A question not its own goes to the base model, shown only this server's own example.
    assert len(bot.base.calls) == len(servers)
    for number, call in zip(servers, bot.base.calls, strict=True):
        shown = " ".join(message.content for message in call.messages)
        assert bot.codes[number] in shown
        assert all(bot.codes[other] not in shown for other in servers if other != number)


def worker_threads() -> list[str]:
    """The threads of the trained models' and the fewshot trainer's pools (every tenant has its
    own)."""
    return [t.name for t in threading.enumerate() if t.name.startswith(("fewshot", "trained"))]


async def test_a_tenant_dropped_from_the_registry_is_freed_with_its_stores_and_threads(
    tmp_path: Path,
) -> None:
    """The cause, on its own: nothing outside a tenant's container (not the root container it was
    built from) keeps it alive once the registry drops it and nobody uses it."""
    bot = Bot(tmp_path / "workspace", limit=1)
    await bot.teach(1)
    await bot.ask_own(1)
    assert worker_threads()
    scope = bot.tenants.scope(Tenant.server(1))
    container, use_cases = weakref.ref(scope.resources), weakref.ref(scope.use_cases)
    del scope

    bot.tenants.scope(Tenant.server(2))  # drops server 1
    after = bot.memory()

    assert after.loaded == 1
    assert use_cases() is None, "server 1's use cases (and their stores) are still alive"
    assert container() is None, "server 1's container is still alive"
    assert worker_threads() == [], "server 1's worker threads are still running"
