"""A fine-tuning job started before a restart is followed to the end after it, from the workspace."""

import json
import re
from pathlib import Path

from fake_openai import FakeOpenAI

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import create_container

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


async def start_process(server: FakeOpenAI, workspace: Path) -> Console:
    """What `trainerbot console` builds: a fresh container over the same workspace."""
    settings = Settings(
        workspace=workspace,
        openai_base_url=server.base_url,
        openai_api_key="sk-test-secret",
        openai_poll_seconds=0.01,
    )
    return Console(create_container(settings).use_cases())


async def test_a_job_is_resumed_after_a_restart_from_what_the_workspace_recorded(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    console = await start_process(openai_server, workspace)
    started = await console.handle(f"!train ```\n{CHAT_JSONL}\n``` method=openai name=qa")
    job_id = re.search(r"Training job (job-\w+)", started)
    assert job_id is not None, started

    record = json.loads((workspace / "records" / "jobs.jsonl").read_text().splitlines()[-1])
    [remote_id] = openai_server.jobs
    assert record["provider_job_id"] == remote_id
    assert record["provider_files"], "the uploaded file ids are recorded"
    assert all(file_id in openai_server.files for file_id in record["provider_files"])

    # The process dies; a new one follows the job from the records alone.
    console = await start_process(openai_server, workspace)
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
