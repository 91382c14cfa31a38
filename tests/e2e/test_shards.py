"""Two bot processes on one PostgreSQL database, sharded as in production (shards 0 and 1 of 2;
``TRAINERBOT_SHARD_COUNT``, ``TRAINERBOT_SHARD_IDS``): what one records the other sees at once;
a training job's outcome is posted once, by the process that follows it; and when that process
is killed in the middle of the job, the other takes the job over and posts its outcome.

Each process is tests/e2e/shard_child.py: the real bot as discord.py's sharded client, on
dpytest's simulated Discord. dpytest has no gateway, so the two cannot split servers between them
the way Discord's gateway would; both serve the same server (a tenant is its server), as two
processes do when a server moves from one shard's process to another's, and as any process
does when it posts a taken-over job's outcome (over HTTP, to a channel of any shard).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from trainerbot.adapters import sql
from trainerbot.config import Settings
from trainerbot.container.tenants import tenant_workspace
from trainerbot.core.tenancy import Tenant

CHILD = Path(__file__).with_name("shard_child.py")
GUILD_ID = 1_180_000_000_000_000_001  # shard_child.GUILD_ID
LEASE_SECONDS = 1.5  # shard_child.LEASE_SECONDS
WITHIN = 15.0  # seconds: any one step; a whole test takes a few

Event = dict[str, Any]


class BotProcess:
    """One bot process (shard ``shard`` of 2), and what it said so far."""

    def __init__(self, shard: int, env: dict[str, str], control: Path, cwd: Path) -> None:
        self.shard = shard
        self.log = cwd / f"shard-{shard}.log"
        cwd.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(CHILD), str(control)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**env, "TRAINERBOT_SHARD_COUNT": "2", "TRAINERBOT_SHARD_IDS": str(shard)},
                cwd=cwd,  # dpytest writes the files the bot sends into the working directory
                text=True,
            )
        self.events: list[Event] = []
        self._arrived: queue.Queue[Event] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready: Event = {}

    def wait_ready(self) -> None:
        """Until it serves; ``ready`` says how (its lease holder name, its shards)."""
        self.ready = self.expect(lambda e: "ready" in e)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._arrived.put(json.loads(line))

    def expect(self, wanted: Callable[[Event], bool], within: float = WITHIN) -> Event:
        """The first event (since the last one expected) that is ``wanted``."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            try:
                event = self._arrived.get(timeout=max(left, 0.01))
            except queue.Empty:
                alive = self.process.poll() is None
                raise AssertionError(
                    f"shard {self.shard} ({'alive' if alive else 'exited'}) did not say it in "
                    f"{within} s; its log:\n{self.log.read_text()[-3000:]}"
                ) from None
            self.events.append(event)
            if wanted(event):
                return event

    def say(self, text: str) -> list[str]:
        """Send ``text`` in the channel as the trainer; what the bot sent in reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"say": text}) + "\n")
        self.process.stdin.flush()
        start = len(self.events)
        self.expect(lambda e: e.get("said") == text)
        return [e["sent"]["content"] for e in self.events[start:] if "sent" in e]

    def sent(self) -> list[str]:
        """Everything the bot sent so far (events already arrived, without waiting)."""
        while True:
            try:
                self.events.append(self._arrived.get_nowait())
            except queue.Empty:
                break
        return [e["sent"]["content"] for e in self.events if "sent" in e]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WITHIN)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"quit": True}) + "\n")
                self.process.stdin.flush()
                self.process.wait(timeout=WITHIN)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


@pytest.fixture
def control(tmp_path: Path) -> Path:
    """Where the test tells the stand-in provider which jobs have finished."""
    folder = tmp_path / "control"
    folder.mkdir()
    return folder


@pytest.fixture
def bots(tmp_path: Path, postgres_url: str, control: Path) -> Iterator[tuple[BotProcess, ...]]:
    """Shards 0 and 1, each a process, on one database and one workspace folder (which holds
    the server's dataset ``reviews``)."""
    workspace = tmp_path / "ws"
    reviews = tenant_workspace(Settings(workspace=workspace), Tenant.server(GUILD_ID)) / "reviews"
    for label, text in (("good", "great film"), ("bad", "awful film")):
        (reviews / label).mkdir(parents=True)
        (reviews / label / "1.txt").write_text(text)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")},
        "TRAINERBOT_WORKSPACE": str(workspace),
        "TRAINERBOT_DATABASE_URL": postgres_url,
        "TRAINERBOT_JOB_POLL_SECONDS": "0.1",
        # Training here, in the bot (a queue would need a `trainerbot worker`).
        "TRAINERBOT_TRAINING_QUEUE": "false",
    }
    started = tuple(BotProcess(shard, env, control, tmp_path / f"cwd-{shard}") for shard in (0, 1))
    try:
        for bot in started:
            bot.wait_ready()
        yield started
    finally:
        for bot in started:
            bot.stop()


def message_id(bot: BotProcess, content: str) -> int:
    """The id of the last message ``bot`` sent with ``content``."""
    [*_, last] = [
        e["sent"]["id"] for e in bot.events if e.get("sent", {}).get("content") == content
    ]
    return int(last)


def start_training(bot: BotProcess) -> str:
    """``!train`` on the server's reviews; the job's id."""
    replies = bot.say("!train data_dir=reviews")
    found = re.search(r"\bjob-[0-9a-f]{12}\b", "\n".join(replies))
    assert found, replies
    return found[0]


def outcome_of(job_id: str) -> Callable[[Event], bool]:
    """Whether an event is the job's outcome, posted."""
    posted = f"Training job {job_id} succeeded"
    return lambda e: e.get("sent", {}).get("content", "").startswith(posted)


def leases(database_url: str) -> dict[str, tuple[str, bool]]:
    """The job leases in the database: job id → (holder, finished)."""

    async def read() -> dict[str, tuple[str, bool]]:
        engine = create_async_engine(sql.async_url(database_url))
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    sa.text("SELECT job_id, holder, finished FROM job_leases")
                )
                return {job: (holder, finished) for job, holder, finished in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def lease_of(database_url: str, job_id: str) -> tuple[str, bool]:
    """The job's lease, once some process holds it (it is claimed in the background)."""
    deadline = time.monotonic() + WITHIN
    while not (lease := leases(database_url).get(job_id, ("", False)))[0]:
        assert time.monotonic() < deadline, f"no process follows {job_id}"
        time.sleep(0.05)
    return lease


def follower(bots: tuple[BotProcess, ...], database_url: str, job_id: str) -> BotProcess:
    """The process that follows the job: the holder of its lease. (The one that started it
    claims it at once, unless the other's scan, every 0.25 s, came first: then that one.)"""
    holder, _ = lease_of(database_url, job_id)
    [following] = [bot for bot in bots if bot.ready["ready"] == holder]
    return following


def test_each_process_sees_the_corrections_the_other_recorded(
    bots: tuple[BotProcess, ...], tmp_path: Path
) -> None:
    for shard, bot in enumerate(bots):  # discord.py's sharded bot, each with its own shard
        assert (bot.ready["sharded"], bot.ready["shard_ids"]) == ("ShardedTrainerBot", [shard])
        assert bot.ready["ready"].endswith(f":shards={shard}/2")  # its name as a lease holder
    zero, one = bots
    # Shard 0 answers; shard 1 corrects that answer by its id: it finds shard 0's interaction.
    assert zero.say("What is the capital of France?") == ["Lyon"]
    corrected = one.say(f"!correct {message_id(zero, 'Lyon')} Paris")
    assert corrected[0].startswith("Thanks — correction"), corrected
    # And the other way round.
    assert one.say("What is the capital of Italy?") == ["Lyon"]
    corrected = zero.say(f"!correct {message_id(one, 'Lyon')} Rome")
    assert corrected[0].startswith("Thanks — correction"), corrected

    # Each exports both corrections, its own and the other's.
    server = tenant_workspace(Settings(workspace=tmp_path / "ws"), Tenant.server(GUILD_ID))
    for bot in bots:
        report = bot.say("!export")[0]
        found = re.search(
            r"(exports/corrections-[\w-]+\.jsonl): 2 lines — .* chat examples", report
        )
        assert found, report
        examples = [json.loads(line) for line in (server / found[1]).read_text().splitlines()]
        taught = {example["messages"][-1]["content"] for example in examples}
        assert taught == {"Paris", "Rome"}


def test_a_jobs_outcome_is_posted_once_by_the_process_that_follows_it(
    bots: tuple[BotProcess, ...], control: Path, postgres_url: str
) -> None:
    job_id = start_training(bots[1])
    following = follower(bots, postgres_url, job_id)
    [other] = [bot for bot in bots if bot is not following]
    time.sleep(1.0)  # several scans of the other meanwhile: the job stays the follower's
    assert leases(postgres_url)[job_id] == (following.ready["ready"], False)

    (control / f"finish-{job_id}").touch()
    outcome = following.expect(outcome_of(job_id))["sent"]["content"]
    time.sleep(2.0)  # past a lease and several scans: nobody posts it again

    assert outcome.startswith(f"Training job {job_id} succeeded: model local:{job_id} is ready")
    assert [text for text in following.sent() if text.startswith(outcome)] == [outcome]
    assert [text for text in other.sent() if job_id in text] == []
    assert leases(postgres_url)[job_id] == (following.ready["ready"], True)


def test_a_killed_process_job_is_taken_over_and_its_outcome_posted_by_the_other(
    bots: tuple[BotProcess, ...], control: Path, postgres_url: str
) -> None:
    job_id = start_training(bots[0])
    killed = follower(bots, postgres_url, job_id)
    [survivor] = [bot for bot in bots if bot is not killed]

    killed.kill()  # holding the job's lease, without releasing it: it lapses
    at = time.monotonic()
    assert follower(bots, postgres_url, job_id) is killed  # until then
    while follower(bots, postgres_url, job_id) is killed:
        assert time.monotonic() - at < WITHIN, "the job was not taken over"
        time.sleep(0.05)
    taken_over_after = time.monotonic() - at
    (control / f"finish-{job_id}").touch()

    outcome = survivor.expect(outcome_of(job_id))["sent"]["content"]
    assert outcome.startswith(f"Training job {job_id} succeeded: model local:{job_id} is ready")
    assert leases(postgres_url)[job_id] == (survivor.ready["ready"], True)
    # Not before the dead process's lease lapsed (renewed every third of it, so at least two
    # thirds of it were left), then at one of the survivor's next scans (every 0.25 s).
    assert LEASE_SECONDS * 2 / 3 - 0.1 < taken_over_after < LEASE_SECONDS + 3.0
