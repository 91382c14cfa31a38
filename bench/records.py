"""Records benchmark: the interaction log with a long history, in today's JSON Lines file, in SQLite
and in PostgreSQL, side by side.

    .venv/bin/python bench/records.py                                   # 20k, 100k, 1M (~10 min)
    .venv/bin/python bench/records.py --sizes 20000,100000 --stores jsonl,sqlite
    .venv/bin/python bench/records.py --sizes 1000000 --jsonl-max 1000000     # JSONL at 1M: ~7 GB

For each store and size the parent writes ``size`` interactions of one tenant, then measures them
in a fresh process of this script (so its resident memory is its own):

- the data: ``--conversations`` channels, interactions spread over them at random, each with the
  history answering gives the model (the conversation's last 6 exchanges), a prompt of ~15 words
  and a reply of ~45 (about 2.6 kB of JSON each); every message id unique; 80% of the answers
  linked to a reply message id. JSONL gets exactly the file the bot writes (an ``interaction``
  line, then a ``reply_link`` line); SQLite and PostgreSQL get the same records bulk-inserted
  with SQLAlchemy Core into the real schema (``Database.migrate()``, then the ``interactions``
  and ``interaction_messages`` tables), then ``ANALYZE``;
- *first answer*: from opening the store (``JsonlInteractionLog(path)``, or
  ``Database(url, auto_migrate=True)`` + ``SqlInteractionLog``, as the application builds them)
  to the end of what answering reads first: ``recent(conversation, 6)`` and ``find_by_message``
  of a recent message. JSONL loads its file here. Imports are done before the clock starts;
  the machine's file cache is warm from the setup (the process is fresh, the disk is not cold);
- *RSS growth*: resident memory after the first answer, and after all the operations, minus
  before opening the store (PostgreSQL's own server processes are not counted: they are bounded
  by its configuration, not by the history);
- ``--ops`` (2,000) of each, timed one at a time, p50 and p99: ``recent`` (the last 6 of a random
  conversation), ``find_by_message`` (a random prompt or reply message id, always found) and
  ``append`` (a new interaction with history; durable: fsynced, or committed with SQLite's
  ``synchronous=FULL`` and PostgreSQL's ``fsync=on``).

PostgreSQL is a throwaway server from the machine's binaries (``tests/postgres_support``); without
them its rows say so and the others still run. JSONL holds every record in memory, so it runs only
up to ``--jsonl-max`` interactions; its larger sizes are extrapolated linearly from the largest run.

Targets (issue 17): memory growth <= 100 MB at 1M interactions (and so at any size), first answer
<= 1 s after start, lookups (recent, find) p99 <= 5 ms, durable append p99 <= 20 ms (the target
is set for SQLite; the other stores' appends are judged by it too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from trainerbot.adapters._records import interaction_to_record, reply_link_record
from trainerbot.adapters.sql import Database, SqlInteractionLog, sqlite_url
from trainerbot.adapters.sql.schema import interaction_messages, interactions
from trainerbot.adapters.storage.interaction_log import JsonlInteractionLog
from trainerbot.adapters.storage.jsonl import encode_line
from trainerbot.core.entities import ChatMessage, Interaction, Role

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_support import PostgresServer, PostgresUnavailable

MB = 1_000_000
TENANT = "100000000000000001"
HISTORY_TURNS = 6  # what answering asks ``recent`` for (Limits.history_turns)
LINKED = 0.8  # the share of answers whose reply message id is linked
BATCH = 5_000  # rows per INSERT batch (and per transaction) while filling a database
STORES = {"jsonl": "JSONL (today)", "sqlite": "SQLite", "postgresql": "PostgreSQL"}

# Targets of issue 17.
MEMORY_TARGET_MB = 100
FIRST_ANSWER_TARGET_S = 1.0
LOOKUP_P99_TARGET_MS = 5.0
APPEND_P99_TARGET_MS = 20.0

VOCABULARY = (
    "the a model answer train dataset server channel message reply correction feedback job "
    "queue worker shard tenant record history prompt token weight epoch loss accuracy label "
    "example fewshot local lora voice speech text embed retrieval index query commit durable "
    "latency memory process thread database table row column key value please thanks why how "
    "what when where which could would should can will is are was were be been being have has "
    "had do does did not and or but if then else for while with without about into over under"
)
WORDS = VOCABULARY.split()


# --- the data ------------------------------------------------------------------------------


def conversation_id(number: int) -> str:
    return str(900_000_000_000_000_000 + number)


def prompt_message_id(number: int) -> str:
    return str(1_100_000_000_000_000_000 + 2 * number)


def reply_message_id(number: int) -> str:
    return str(1_100_000_000_000_000_001 + 2 * number)


def interaction_id(number: int) -> str:
    return f"int-{number:012x}"


def is_linked(number: int) -> bool:
    return (number * 2_654_435_761) % 1000 < LINKED * 1000  # a fixed, well-spread 80%


class Generator:
    """Interactions 0, 1, 2… of one tenant, each with its conversation's last exchanges as history.

    Deterministic for a seed, so the parent and the measuring child agree on what exists."""

    def __init__(self, conversations: int, seed: int) -> None:
        self._rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
        self._conversations = conversations
        self._history: dict[int, deque[ChatMessage]] = {}
        self._start = datetime(2025, 1, 1, tzinfo=UTC)

    def _words(self, count: int) -> str:
        return " ".join(self._rng.choices(WORDS, k=count))

    def make(self, number: int, *, linked: bool | None = None) -> Interaction:
        conversation = self._rng.randrange(self._conversations)
        past = self._history.setdefault(conversation, deque(maxlen=2 * HISTORY_TURNS))
        prompt = self._words(self._rng.randint(5, 15)) + "?"
        reply = self._words(self._rng.randint(15, 45)) + "."
        interaction = Interaction(
            id=interaction_id(number),
            conversation_id=conversation_id(conversation),
            author_id=str(800_000_000_000_000_000 + self._rng.randrange(5_000)),
            message_id=prompt_message_id(number),
            prompt=prompt,
            reply=reply,
            model="fewshot-3f2a9c1b7d4e",
            history=tuple(past),
            reply_message_ids=(
                (reply_message_id(number),)
                if (is_linked(number) if linked is None else linked)
                else ()
            ),
            created_at=self._start + timedelta(seconds=number),
        )
        past.extend((ChatMessage(Role.USER, prompt), ChatMessage(Role.ASSISTANT, reply)))
        return interaction

    def stream(self, size: int) -> Iterator[Interaction]:
        for number in range(size):
            yield self.make(number)


def record_bytes(conversations: int, seed: int, sample: int = 5_000) -> float:
    """The mean size of an interaction's JSON record (once its conversations have history)."""
    made = list(Generator(conversations, seed).stream(sample))[-1_000:]
    return statistics.mean(len(encode_line(interaction_to_record(i))) for i in made)


def write_jsonl(path: Path, size: int, conversations: int, seed: int) -> None:
    """The file the bot writes: each interaction, then the link of its reply (when linked)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        for interaction in Generator(conversations, seed).stream(size):
            unlinked = replace(interaction, reply_message_ids=())
            file.write(encode_line(interaction_to_record(unlinked)))
            for message_id in interaction.reply_message_ids:
                file.write(encode_line(reply_link_record(interaction.id, message_id)))


async def fill_database(url: str, size: int, conversations: int, seed: int) -> None:
    """The real schema (Alembic), then the records bulk-inserted with SQLAlchemy Core."""
    db = Database(url)
    try:
        await db.migrate()
        generator = Generator(conversations, seed).stream(size)
        done = 0
        while done < size:
            rows: list[dict[str, str]] = []
            links: list[dict[str, str]] = []
            for interaction in (next(generator) for _ in range(min(BATCH, size - done))):
                rows.append(
                    {
                        "tenant": TENANT,
                        "id": interaction.id,
                        "conversation_id": interaction.conversation_id,
                        "record": json.dumps(
                            interaction_to_record(interaction),
                            ensure_ascii=False,
                            separators=(",", ":"),
                        ),
                    }
                )
                for message_id in (interaction.message_id, *interaction.reply_message_ids):
                    links.append(
                        {
                            "tenant": TENANT,
                            "message_id": message_id,
                            "interaction_id": interaction.id,
                        }
                    )
            async with db.engine.begin() as connection:
                await connection.execute(interactions.insert(), rows)
                await connection.execute(interaction_messages.insert(), links)
            done += len(rows)
        async with db.engine.connect() as connection:
            await connection.execute(text("ANALYZE"))
            await connection.commit()
    finally:
        await db.close()


# --- the measurement (in a fresh process) --------------------------------------------------


@dataclass(frozen=True)
class Result:
    store: str
    size: int
    first_answer_s: float
    rss_first_mb: float
    rss_after_mb: float
    recent_p50_ms: float
    recent_p99_ms: float
    find_p50_ms: float
    find_p99_ms: float
    append_p50_ms: float
    append_p99_ms: float


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def p50_p99_ms(seconds: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return statistics.median(seconds) * 1000, cuts[98] * 1000


async def measure(store: str, where: str, size: int, conversations: int, ops: int) -> Result:
    rng = random.Random(size)  # noqa: S311 (test data, not secrets)
    rss_before = rss_bytes()
    began = time.perf_counter()
    db: Database | None = None
    if store == "jsonl":
        log: JsonlInteractionLog | SqlInteractionLog = JsonlInteractionLog(Path(where))
    else:
        db = Database(where, auto_migrate=True)
        log = SqlInteractionLog(db, TENANT)
    # What answering reads first: the conversation's history, the message replied to.
    last = size - 1
    await log.recent(conversation_id(rng.randrange(conversations)), HISTORY_TURNS)
    found = await log.find_by_message(prompt_message_id(last))
    first_answer = time.perf_counter() - began
    rss_first = rss_bytes()
    if found is None:
        raise RuntimeError(f"{store}: the first answer found nothing")

    def random_message() -> str:
        number = rng.randrange(size)
        replied = is_linked(number) and rng.random() < 0.5
        return reply_message_id(number) if replied else prompt_message_id(number)

    recent: list[float] = []
    for _ in range(ops):
        conversation = conversation_id(rng.randrange(conversations))
        start = time.perf_counter()
        await log.recent(conversation, HISTORY_TURNS)
        recent.append(time.perf_counter() - start)
    find: list[float] = []
    for _ in range(ops):
        message_id = random_message()
        start = time.perf_counter()
        found = await log.find_by_message(message_id)
        find.append(time.perf_counter() - start)
        if found is None:
            raise RuntimeError(f"{store}: message {message_id} not found")
    generator = Generator(conversations, seed=size + 1)
    appends: list[float] = []
    for number in range(size, size + ops):
        interaction = generator.make(number, linked=False)
        start = time.perf_counter()
        await log.append(interaction)
        appends.append(time.perf_counter() - start)
    if await log.find_by_message(prompt_message_id(size + ops - 1)) is None:
        raise RuntimeError(f"{store}: an appended interaction is missing")
    rss_after = rss_bytes()
    if db is not None:
        await db.close()
    return Result(
        store,
        size,
        first_answer,
        (rss_first - rss_before) / MB,
        (rss_after - rss_before) / MB,
        *p50_p99_ms(recent),
        *p50_p99_ms(find),
        *p50_p99_ms(appends),
    )


def run_child(store: str, where: str, size: int, args: argparse.Namespace) -> Result:
    command = [
        sys.executable, __file__, "--child", store, where, f"--sizes={size}",
        f"--conversations={args.conversations}", f"--ops={args.ops}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the {store} run with {size:,} interactions failed")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


# --- the table -----------------------------------------------------------------------------


def mark(value: float, target: float) -> str:
    return "✓" if value <= target else "✗"


def row(result: Result, setup_s: float) -> list[str]:
    lookup_p99 = max(result.recent_p99_ms, result.find_p99_ms)
    verdicts = {
        "memory": result.rss_first_mb <= MEMORY_TARGET_MB
        and result.rss_after_mb <= MEMORY_TARGET_MB,
        "first answer": result.first_answer_s <= FIRST_ANSWER_TARGET_S,
        "lookups": lookup_p99 <= LOOKUP_P99_TARGET_MS,
        "append": result.append_p99_ms <= APPEND_P99_TARGET_MS,
    }
    missed = [name for name, met in verdicts.items() if not met]
    return [
        STORES[result.store],
        f"{result.size:,}",
        f"{result.rss_first_mb:,.0f} MB {mark(result.rss_first_mb, MEMORY_TARGET_MB)}",
        f"{result.rss_after_mb:,.0f} MB {mark(result.rss_after_mb, MEMORY_TARGET_MB)}",
        f"{result.first_answer_s * 1000:,.0f} ms "
        f"{mark(result.first_answer_s, FIRST_ANSWER_TARGET_S)}",
        f"{result.recent_p50_ms:.2f} / {result.recent_p99_ms:.2f} ms "
        f"{mark(result.recent_p99_ms, LOOKUP_P99_TARGET_MS)}",
        f"{result.find_p50_ms:.2f} / {result.find_p99_ms:.2f} ms "
        f"{mark(result.find_p99_ms, LOOKUP_P99_TARGET_MS)}",
        f"{result.append_p50_ms:.2f} / {result.append_p99_ms:.2f} ms "
        f"{mark(result.append_p99_ms, APPEND_P99_TARGET_MS)}",
        "all met" if not missed else "not met: " + ", ".join(missed),
        f"{setup_s:,.0f} s",
    ]


def extrapolated(largest: Result, size: int) -> list[str]:
    """A row for a size JSONL is not run at: memory and load grow linearly with the records."""
    scale = size / largest.size
    memory = largest.rss_first_mb * scale
    first_answer = largest.first_answer_s * scale
    return [
        STORES[largest.store],
        f"{size:,}",
        f"~{memory:,.0f} MB {mark(memory, MEMORY_TARGET_MB)} (extrapolated)",
        "not run",
        f"~{first_answer:,.1f} s {mark(first_answer, FIRST_ANSWER_TARGET_S)} (extrapolated)",
        "not run",
        "not run",
        "not run",
        "not run (--jsonl-max)",
        "",
    ]


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for cells in rows:
        print(line(cells))


# --- the runs ------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def prepare(
    store: str, size: int, data: Path, server: PostgresServer | None, args: argparse.Namespace
) -> str:
    """Write ``size`` interactions for ``store``; where the measuring child finds them."""
    if store == "jsonl":
        path = data / "interactions.jsonl"
        write_jsonl(path, size, args.conversations, args.seed)
        return str(path)
    if server is None:
        url = sqlite_url(data / "records.sqlite3")
    else:
        url = server.create_database(f"records_{size}")
    asyncio.run(fill_database(url, size, args.conversations, args.seed))
    return url


def run_store(
    store: str,
    sizes: list[int],
    args: argparse.Namespace,
    folder: Path,
    server: PostgresServer | None,
) -> list[tuple[Result, float]]:
    """Each size's records for ``store``, measured in a fresh process; with the setup's seconds."""
    results = []
    for size in sizes:
        began = time.perf_counter()
        data = folder / f"{store}-{size}"
        try:
            where = prepare(store, size, data, server, args)
            setup = time.perf_counter() - began
            progress(f"{STORES[store]}: {size:,} interactions written in {setup:.0f} s")
            result = run_child(store, where, size, args)
        finally:
            if server is not None:
                server.drop_database(f"records_{size}")
            shutil.rmtree(data, ignore_errors=True)
        progress(f"  {json.dumps(asdict(result))}")
        results.append((result, setup))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="20000,100000,1000000", help="interaction counts")
    parser.add_argument("--stores", default="jsonl,sqlite,postgresql", help=", ".join(STORES))
    parser.add_argument(
        "--jsonl-max", type=int, default=100_000, help="the largest size JSONL is run at"
    )
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--ops", type=int, default=2_000, help="operations timed of each kind")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--child", nargs=2, metavar=("STORE", "WHERE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.child:
        store, where = args.child
        result = asyncio.run(measure(store, where, sizes[0], args.conversations, args.ops))
        print(json.dumps(asdict(result)))
        return

    began = time.perf_counter()
    stores = [store.strip() for store in args.stores.split(",")]
    rows: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="trainerbot-bench-records-") as temporary:
        folder = Path(temporary)
        for store in stores:
            if store not in STORES:
                raise SystemExit(f"unknown store {store!r}: choose among {', '.join(STORES)}")
            server = None
            store_sizes = sizes
            if store == "jsonl":
                store_sizes = [size for size in sizes if size <= args.jsonl_max]
            if store == "postgresql":
                try:
                    server = PostgresServer().start()
                except PostgresUnavailable as missing:
                    notes.append(f"PostgreSQL skipped: {missing}")
                    progress(notes[-1])
                    continue
                progress(server.started)
            try:
                results = run_store(store, store_sizes, args, folder, server)
            finally:
                if server is not None:
                    server.stop()
            rows.extend(row(result, setup) for result, setup in results)
            if store == "jsonl" and results:
                rows.extend(
                    extrapolated(results[-1][0], size) for size in sizes if size > args.jsonl_max
                )

    print()
    print_table(
        [
            "store",
            "interactions",
            f"RSS growth, first answer (≤ {MEMORY_TARGET_MB} MB)",
            f"RSS growth, after ops (≤ {MEMORY_TARGET_MB} MB)",
            f"first answer (≤ {FIRST_ANSWER_TARGET_S:g} s)",
            f"recent p50 / p99 (≤ {LOOKUP_P99_TARGET_MS:g} ms)",
            f"find_by_message p50 / p99 (≤ {LOOKUP_P99_TARGET_MS:g} ms)",
            f"durable append p50 / p99 (≤ {APPEND_P99_TARGET_MS:g} ms)",
            "targets",
            "setup",
        ],
        rows,
    )
    for note in notes:
        print(note)
    print(
        f"\n{args.ops:,} operations of each kind; {args.conversations:,} conversations; records of "
        f"{record_bytes(args.conversations, args.seed):,.0f} bytes on average (with history); "
        f"each row a fresh process; took {time.perf_counter() - began:,.0f} s in all."
    )


if __name__ == "__main__":
    main()
