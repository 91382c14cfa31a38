"""The process ``test_crash_durability.py`` kills: records many things from concurrent tasks.

    python tests/robustness/crash_child.py KIND WORKSPACE COUNT [--tasks 50] [--heavy]
                                          [--tenant KEY]

KIND is ``corrections``, ``interactions`` or ``jobs``. The stores are the real ones the
configuration names, built over WORKSPACE as ``create_container`` builds them: JSON Lines files in
the workspace (``TRAINERBOT_RECORDS=jsonl`` in the environment), or, with
``TRAINERBOT_DATABASE_URL`` set in the environment (``sqlite:///path`` or
``postgresql://user@host:port/db``, as a user configures the bot), the SQL stores on that
database. Records go through the path the bot uses: ``RecordCorrection`` for corrections,
``AnswerMessage`` then ``LinkReply`` for interactions (with a canned chat model: nothing else is
faked), ``JobStore.save`` for every state of a job. With ``--tenant`` (a server id,
``dm-<user id>`` or ``console``) they are that tenant's, taken from
``create_container(...).tenants()`` as the bot takes them (its use cases and stores, under
``WORKSPACE/servers/KEY/``, or its rows of the database); without it, the root workspace's:
JSON Lines stores wired by hand (quicker to start: the container imports every adapter), SQL
stores from the root container. A line goes to stdout, flushed, only after the await that stored
a record returned (for SQL: after its transaction committed) — the acknowledgement the test holds
the stores to:

    SEED <interaction_id> <k>     corrections: seed interaction k was answered (before READY)
    READY                         setup done; acknowledgements follow
    ACK <id> <n>                  record n is stored (for jobs: ``ACK <job_id> <version>``)
    LINK <interaction_id> <msg>   interactions: reply message ``msg`` is linked
    DONE                          every record was stored (the test kills before this)

The expected content of every record is a pure function of its number (``correction_text``,
``prompt_text``, ``reply_for``, ``job_state``), so the test rebuilds it to compare. ``--heavy`` makes
every record tens of kilobytes, so that many appends are large multi-page writes when the kill lands.

Not collected by pytest (its name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from trainerbot.core.entities import ChatMessage, JobStatus, TrainingJob
from trainerbot.ports import ChatModel

KINDS = ("corrections", "interactions", "jobs")
SEEDS = 10  # interactions the corrections correct
JOB_STATES = 4  # saves per job: queued, running, running with a checkpoint, succeeded
AUTHOR = "u-crash"
MODEL = "crash-model"
_BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Quotes, backslashes, newlines, tabs and multi-byte characters: escaping must survive too.
_TEXTURE = 'ünï ✓ 🎉 "quoted" back\\slash\nnew line\ttab — '


def padding(n: int, heavy: bool) -> str:
    """Nothing, or 8k–64k characters (most of them multi-byte) that depend on ``n``."""
    if not heavy:
        return ""
    size = 8_000 + (n * 7_919) % 56_000
    unit = f"{_TEXTURE}{n} "
    # Ends in a full stop, not a space: the use cases strip what the model says.
    return (unit * (size // len(unit) + 1))[: size - 1] + "."


def seed_prompt(k: int) -> str:
    return f"seed question {k} ✓"


def prompt_text(n: int) -> str:
    return f'question {n}: "what is {n} × 2?"\nsecond line ü {n}'


def reply_for(prompt: str, heavy: bool, n: int) -> str:
    return f"answer to <{prompt}> ✓ \\ end" + padding(n, heavy)


def correction_text(n: int) -> str:
    return f'right answer {n}: "{n * 2}" ✓\nwith a second line \\ {n}'


def author_for(key: object) -> str:
    return f"u-{key}"


def conversation_for(n: int) -> str:
    return f"conv-{n % 50}"


def job_id(j: int) -> str:
    return f"job-{j:04d}"


def job_state(j: int, version: int, heavy: bool) -> TrainingJob:
    """State ``version`` (0-based) of job ``j``; every field depends on both."""
    created = _BASE_TIME + timedelta(seconds=j)
    statuses = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RUNNING, JobStatus.SUCCEEDED)
    return TrainingJob(
        id=job_id(j),
        trainer="fewshot",
        status=statuses[version],
        dataset_name=f"dataset ✓ {j}",
        dataset_version=f"{j:012x}",
        example_count=10 + j,
        requested_by=AUTHOR,
        base_model="base-model",
        provider_job_id=f"prov-{j}" if version >= 1 else None,
        model=f"model-{j}" if version == JOB_STATES - 1 else None,
        provider_files=tuple(f"file-{j}-{i}" for i in range(version)),
        # Heavy: the latest event only, so a job's line stays as big as the other kinds' lines.
        events=tuple(
            f'event {i} of {j}: "ok" ✓' + padding(j * 8 + i, heavy and i == version - 1)
            for i in range(version)
        ),
        metrics={"step": float(version), "train_loss": 1.0 / (version + 1)},
        origin=f"channel:{j}",
        created_at=created,
        updated_at=created + timedelta(minutes=version),
    )


def _say(line: str) -> None:
    # One write per line, flushed at once: the test reads acknowledgements while we run.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class CannedChat(ChatModel):
    """A chat model whose answer is a pure function of the prompt: the only fake in the child."""

    def __init__(self, heavy: bool) -> None:
        self._heavy = heavy

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        prompt = messages[-1].content
        number = (
            int(prompt.split()[2]) if prompt.startswith("seed") else int(prompt.split()[1][:-1])
        )
        return reply_for(prompt, self._heavy, number)


class Wiring:
    """What the child records through: the use cases and the job store of one workspace."""

    def __init__(self, workspace: Path, heavy: bool, tenant: str | None) -> None:
        from trainerbot.config import Settings

        self._root: Any = None  # the container, when the stores came from one
        settings = Settings(workspace=workspace)  # TRAINERBOT_DATABASE_URL from the environment
        if tenant is not None or settings.records_adapter == "sql":
            self._container(settings, heavy, tenant)
        else:
            self._by_hand(workspace, heavy)

    async def close(self) -> None:
        """Release the database's connections (a SIGKILLed child never gets here)."""
        if self._root is not None:
            from trainerbot.container import close_container

            await close_container(self._root)

    def _by_hand(self, workspace: Path, heavy: bool) -> None:
        # The stores and use cases wired as ``create_container`` wires them for a filesystem
        # workspace (same classes, same files), without importing every adapter: the test
        # restarts through ``create_container`` itself, so a difference in paths would show as
        # lost records.
        from trainerbot.adapters.storage import (
            JsonlCorrectionStore,
            JsonlInteractionLog,
            JsonlJobStore,
            JsonlModelRegistry,
        )
        from trainerbot.core.answer_message import AnswerMessage
        from trainerbot.core.link_reply import LinkReply
        from trainerbot.core.record_correction import RecordCorrection

        records = workspace / "records"
        interactions = JsonlInteractionLog(records / "interactions.jsonl")
        self.answer = AnswerMessage(
            chat_model=CannedChat(heavy),
            interactions=interactions,
            models=JsonlModelRegistry(records / "models.jsonl"),
            default_model=MODEL,
            system_prompt="You are trainerbot.",
        )
        self.link = LinkReply(interactions=interactions)
        self.record = RecordCorrection(
            interactions=interactions,
            corrections=JsonlCorrectionStore(records / "corrections.jsonl"),
        )
        self.jobs = JsonlJobStore(records / "jobs.jsonl")

    def _container(self, settings: Any, heavy: bool, key: str | None) -> None:
        # The tenant's own container, as the bot gets it (or, without a tenant, the root): the
        # canned chat model overridden in the root reaches every tenant; the rest (stores, use
        # cases, limits, the database) is as configured.
        from dependency_injector import providers

        from trainerbot.container import create_container
        from trainerbot.core.tenancy import Tenant

        root = create_container(settings)
        self._root = root
        root.chat_model.override(providers.Object(CannedChat(heavy)))
        here = root if key is None else root.tenants().container(Tenant.parse(key))
        use_cases = here.use_cases()
        self.answer = use_cases.answer_message
        self.link = use_cases.link_reply
        self.record = use_cases.record_correction
        self.jobs = here.jobs()


async def run(
    kind: str, workspace: Path, count: int, tasks: int, heavy: bool, tenant: str | None = None
) -> None:
    from trainerbot.core.answer_message import AnswerRequest
    from trainerbot.core.entities import Actor
    from trainerbot.core.link_reply import LinkReplyRequest
    from trainerbot.core.record_correction import CorrectionRequest

    wiring = Wiring(workspace, heavy, tenant)
    answer = wiring.answer
    numbers = iter(range(count))

    def member(key: object) -> Actor:
        # One member per record, as on a busy server (and clear of any per-member rate limit).
        return Actor(id=author_for(key), name=f"member {key}")

    if kind == "corrections":
        seeds: list[str] = []
        for k in range(SEEDS):
            request = AnswerRequest(
                conversation_id="seed-conv",
                author=member(f"seed-{k}"),
                text=seed_prompt(k),
                message_id=f"seed-msg-{k}",
            )
            seeds.append((await answer.execute(request)).interaction.id)
            _say(f"SEED {seeds[-1]} {k}")
        record = wiring.record

        async def one(n: int) -> None:
            request = CorrectionRequest(
                actor=member(n), message_id=f"seed-msg-{n % SEEDS}", text=correction_text(n)
            )
            result = await record.execute(request)
            _say(f"ACK {result.correction.id} {n}")

    elif kind == "interactions":
        link = wiring.link

        async def one(n: int) -> None:
            request = AnswerRequest(
                conversation_id=conversation_for(n),
                author=member(n),
                text=prompt_text(n),
                message_id=f"msg-{n}",
            )
            interaction = (await answer.execute(request)).interaction
            _say(f"ACK {interaction.id} {n}")
            await link.execute(LinkReplyRequest(interaction.id, f"reply-{n}"))
            _say(f"LINK {interaction.id} reply-{n}")

    elif kind == "jobs":
        jobs = wiring.jobs
        # Each number is one job: its states are saved one after another, as a job's follower does.
        numbers = iter(range(count // JOB_STATES))

        async def one(n: int) -> None:
            for version in range(JOB_STATES):
                await jobs.save(job_state(n, version, heavy))
                _say(f"ACK {job_id(n)} {version}")
                await asyncio.sleep(0)

    else:
        raise SystemExit(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")

    async def worker() -> None:
        for n in numbers:  # one shared iterator: every number is taken by exactly one task
            await one(n)

    _say("READY")
    try:
        await asyncio.gather(*(worker() for _ in range(tasks)))
        _say("DONE")
    finally:
        await wiring.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("workspace", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--heavy", action="store_true")
    parser.add_argument("--tenant", help="record as this tenant (its key), through its container")
    args = parser.parse_args(argv)
    asyncio.run(run(args.kind, args.workspace, args.count, args.tasks, args.heavy, args.tenant))


if __name__ == "__main__":
    main()
