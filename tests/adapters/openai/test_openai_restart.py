"""A fine-tuning job started before a restart is followed to the end after it, from the workspace
(its records in the workspace's database)."""

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_container

CHAT_JSONL = "\n".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ]
        }
    )
    for i in range(20)
)


@pytest.fixture
async def processes() -> AsyncIterator[list[Container]]:
    """The containers the test started, as processes: closed (their database) when it ends."""
    started: list[Container] = []
    yield started
    while started:
        await close_container(started.pop())


async def start_process(
    server: FakeOpenAI, workspace: Path, processes: list[Container]
) -> tuple[Console, Container]:
    """What `trainerbot console` builds: a fresh container over the same workspace."""
    settings = Settings(
        workspace=workspace,
        openai_base_url=server.base_url,
        openai_api_key="sk-test-secret",
        openai_poll_seconds=0.01,
    )
    container = create_container(settings)
    processes.append(container)
    return Console(container.use_cases()), container


async def test_a_job_is_resumed_after_a_restart_from_what_the_workspace_recorded(
    openai_server: FakeOpenAI, tmp_path: Path, processes: list[Container]
) -> None:
    workspace = tmp_path / "ws"
    console, first = await start_process(openai_server, workspace, processes)
    started = await console.handle(f"!train ```\n{CHAT_JSONL}\n``` method=openai name=qa")
    job_id = re.search(r"Training job (job-\w+)", started)
    assert job_id is not None, started
    await close_container(first)  # the process dies

    # A new one follows the job from the records alone.
    console, again = await start_process(openai_server, workspace, processes)
    [recorded] = await again.jobs().all()
    [remote_id] = openai_server.jobs
    assert recorded.id == job_id.group(1)
    assert recorded.provider_job_id == remote_id
    assert recorded.provider_files, "the uploaded file ids are recorded"
    assert all(file_id in openai_server.files for file_id in recorded.provider_files)

    replies = [await console.handle(f"!jobs {job_id.group(1)}") for _ in range(3)]

    assert "queued" in replies[0]
    assert "running" in replies[1]
    assert "succeeded" in replies[2]
    model = re.search(r"model (ft:\S+)", replies[2])
    assert model is not None, replies[2]
    assert model.group(1) == openai_server.jobs[remote_id].data["fine_tuned_model"]
    assert model.group(1) in await console.handle("!models")
    # Progress as the provider reported it: the last checkpoint's losses and the newest event.
    assert re.search(r"step \d+, train loss \d\.\d{3}, valid loss \d\.\d{3}", replies[2])
    assert "latest: " in replies[2]
