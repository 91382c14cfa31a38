"""Tenants benchmark: a bot in 10, 100 and 1,000 servers, with at most 64 tenants loaded (ours)
or every tenant kept loaded (the baseline).

    .venv/bin/python bench/tenants.py                        # 10, 100 and 1,000 servers (~2 min)
    .venv/bin/python bench/tenants.py --tenants 10,100 --limit 16

Each run is a fresh process (so its resident memory is its own) with the real container on a
temporary workspace on disk (storage=filesystem, the fewshot trainer, TF-IDF retrieval: no
embedding model). Only the base model is swapped, for one that answers at once, so what is timed
is the bot's own work. The run warms up on a tenant of its own (the shared models, the imports),
then for every server, one after another:

    build its scope (a tenant never seen: its container, its folder, its use cases)
    → train a fewshot model on one example and make it the server's active model (!train, !use)

then, for every server again, in the same order: ask its question twice.

Measured: *build* — getting a never-seen tenant's scope (median); *first answer* — the first
question in the second round (median and 95th percentile), which is a cold tenant when the server
was dropped since it was taught (loaded again from its folder: the container, its records, its
model) and a warm one when it was kept; *warm answer* — the same question again at once, the
tenant loaded (median); *RSS growth* — resident memory after the second round minus after the
warm-up; *heap blocks* — the Python heap's blocks allocated, the same way; *threads* and
*containers alive* — after the second round and a full garbage collection. Ours keeps
``--limit`` tenants loaded (``TRAINERBOT_MAX_LOADED_TENANTS``, default 64); the baseline sets it
to ``--unbounded`` (100,000), so no tenant is ever dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.container import create_container
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor
from trainerbot.core.tenancy import Tenant, TenantScope
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

MIB = 1024 * 1024
WARM_UP = 10**18  # a server id no run uses


@dataclass(frozen=True)
class Result:
    tenants: int
    limit: int
    build_ms: float
    first_ms: float
    first_p95_ms: float
    warm_ms: float
    rss_growth: int
    blocks_growth: int
    threads: int
    containers: int
    loaded: int
    built: int
    wall: float


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def settled() -> None:
    gc.collect()
    time.sleep(0.1)  # the workers of freed thread pools see they are gone, and exit
    gc.collect()


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def question(number: int) -> str:
    return f"What is the code of server {number}?"


async def measure(tenants: int, limit: int) -> Result:
    """One run, in this process."""
    with tempfile.TemporaryDirectory(prefix="trainerbot-tenants-") as folder:
        settings = Settings(
            workspace=Path(folder) / "workspace",
            trainer="fewshot",
            embeddings="none",
            max_loaded_tenants=limit,
            rate_limit_per_minute=0,  # one admin asks in every server: no limit to trip
        )
        root = create_container(settings)
        root.base_chat_model.override(InMemoryChatModel(lambda messages, model: "I do not know."))
        registry = root.tenants()
        admin = Actor(id="1000", name="admin", can_train=True)
        seen: weakref.WeakSet[object] = weakref.WeakSet()

        def scope(number: int) -> TenantScope:
            got = registry.scope(Tenant.server(number))
            seen.add(got.resources)
            return got

        async def teach(number: int) -> None:
            use_cases = scope(number).use_cases
            data = json.dumps(
                {
                    "messages": [
                        {"role": "user", "content": question(number)},
                        {"role": "assistant", "content": f"The code is {number}."},
                    ]
                }
            )
            trained = await use_cases.train_model.execute(TrainRequest(actor=admin, data=data))
            assert trained.job.model is not None
            await use_cases.use_model.execute(UseModelRequest(actor=admin, model=trained.job.model))

        async def ask(number: int) -> float:
            begun = time.perf_counter()
            use_cases = scope(number).use_cases
            result = await use_cases.answer_message.execute(
                AnswerRequest(
                    conversation_id=f"c-{number}",
                    author=admin,
                    text=question(number),
                    message_id=f"m-{number}-{time.perf_counter_ns()}",
                )
            )
            elapsed = time.perf_counter() - begun
            assert result.reply == f"The code is {number}.", result.reply
            return elapsed

        await teach(WARM_UP)
        await ask(WARM_UP)
        settled()
        rss_start, blocks_start = rss_bytes(), sys.getallocatedblocks()
        started = time.perf_counter()

        builds: list[float] = []
        for number in range(1, tenants + 1):
            begun = time.perf_counter()
            scope(number)
            builds.append(time.perf_counter() - begun)
            await teach(number)

        firsts: list[float] = []
        warms: list[float] = []
        for number in range(1, tenants + 1):
            firsts.append(await ask(number))
            warms.append(await ask(number))
        wall = time.perf_counter() - started

        settled()
        return Result(
            tenants=tenants,
            limit=limit,
            build_ms=statistics.median(builds) * 1000,
            first_ms=statistics.median(firsts) * 1000,
            first_p95_ms=p95(firsts) * 1000,
            warm_ms=statistics.median(warms) * 1000,
            rss_growth=rss_bytes() - rss_start,
            blocks_growth=sys.getallocatedblocks() - blocks_start,
            threads=threading.active_count(),
            containers=len(seen),
            loaded=registry.registry.loaded,
            built=registry.registry.built,
            wall=wall,
        )


def run_child(tenants: int, limit: int) -> Result:
    """One run in a fresh process: its memory is its own."""
    command = [sys.executable, __file__, "--child", f"--tenants={tenants}", f"--limit={limit}"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the run with {tenants} tenants, limit {limit} failed")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table: the first two columns left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        print(line(row))


def row(result: Result, design: str) -> list[str]:
    return [
        f"{result.tenants:,}",
        design,
        f"{result.build_ms:.1f} ms",
        f"{result.first_ms:.1f} ms",
        f"{result.first_p95_ms:.1f} ms",
        f"{result.warm_ms:.1f} ms",
        f"{result.rss_growth / MIB:.1f} MiB",
        f"{result.blocks_growth:,}",
        f"{result.threads:,}",
        f"{result.containers:,}",
        f"{result.loaded:,}",
        f"{result.built:,}",
        f"{result.wall:.1f} s",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", default="10,100,1000", help="server counts, comma-separated")
    parser.add_argument("--limit", type=int, default=64, help="tenants kept loaded (ours)")
    parser.add_argument(
        "--unbounded", type=int, default=100_000, help="the baseline's limit: never reached"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(measure(int(args.tenants), args.limit))
        print(json.dumps(asdict(result)))
        return

    rows: list[list[str]] = []
    for tenants in (int(t) for t in args.tenants.split(",")):
        for limit, design in (
            (args.limit, f"ours ({args.limit} loaded)"),
            (args.unbounded, "baseline (all kept)"),
        ):
            result = run_child(tenants, limit)
            rows.append(row(result, design))
            print(f"{tenants:,} tenants, {design}: done in {result.wall:.1f} s", file=sys.stderr)
    print_table(
        [
            "tenants",
            "design",
            "build",
            "first answer",
            "first p95",
            "warm answer",
            "RSS growth",
            "heap blocks",
            "threads",
            "containers alive",
            "loaded",
            "built",
            "wall",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
