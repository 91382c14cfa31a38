"""A training worker whose trainers never finish: ``python worker_child.py NAME``.

It is `trainerbot worker` (``run_worker``) with every local trainer replaced by one that starts
and then waits forever, so a test can kill it while it holds a job. The settings come from the
environment, as `trainerbot worker`'s do.
"""

from __future__ import annotations

import asyncio
import sys

from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import close_container, create_container
from trainerbot.container.worker import run_worker
from trainerbot.core.entities import TrainingJob, TrainingSpec


class NeverFinishes(InMemoryModelTrainer):
    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        print("training", job.id, flush=True)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def main(name: str) -> None:
    container = create_container(Settings())
    container.local_trainers.override(
        providers.Object({n: NeverFinishes(n) for n in ("fewshot", "local", "lora")})
    )
    try:
        await run_worker(container, name=name)
    finally:
        await close_container(container)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
