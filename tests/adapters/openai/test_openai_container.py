"""End to end over the fake OpenAI server: the container's console chats through it, fine-tunes on
it, follows the job to its model and then answers with that model."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from fake_openai import FakeOpenAI, Recorded

from trainerbot.adapters.console import Console
from trainerbot.config import DEFAULT_OPENAI_CHAT_MODEL, DEFAULT_SYSTEM_PROMPT, Settings
from trainerbot.container import Container, create_container

API_KEY = "sk-test-secret"
EXAMPLES = "\n".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{2 * i}."},
            ]
        }
    )
    for i in range(20)
)


@pytest.fixture
async def container(openai_server: FakeOpenAI) -> AsyncIterator[Container]:
    container = create_container(
        Settings(
            storage="memory",
            openai_base_url=openai_server.base_url,
            openai_api_key=API_KEY,
            openai_poll_seconds=0.01,
        )
    )
    try:
        yield container
    finally:
        await container.openai_client().close()


@pytest.fixture
def sut(container: Container) -> Console:
    return Console(container.use_cases())


def chat_requests(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/chat/completions", "POST")


async def train(sut: Console) -> str:
    """Start an OpenAI fine-tuning job from inline data; return our job id."""
    reply = await sut.handle(f"!train method=openai ```\n{EXAMPLES}\n```")
    found = re.search(r"\b(job-[0-9a-f]+)\b", reply)
    assert found is not None, reply
    return found.group(1)


async def test_plain_message_is_answered_through_the_server_with_the_system_prompt(
    openai_server: FakeOpenAI, sut: Console
) -> None:
    reply = await sut.handle("Hello there")

    assert reply.splitlines()[0] == "reply to: Hello there"
    [request] = chat_requests(openai_server)
    assert request.json["model"] == DEFAULT_OPENAI_CHAT_MODEL
    assert request.json["messages"] == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Hello there"},
    ]
    assert request.header("Authorization") == f"Bearer {API_KEY}"


async def test_train_method_openai_starts_a_job_at_the_server(
    openai_server: FakeOpenAI, sut: Console, container: Container
) -> None:
    job_id = await train(sut)

    job = await container.jobs().get(job_id)
    assert job is not None
    [remote_id] = openai_server.jobs
    assert job.provider_job_id == remote_id
    remote = openai_server.jobs[remote_id].data
    assert remote["metadata"]["job"] == job_id
    assert remote["model"] == "gpt-4.1-mini-2025-04-14"
    [upload] = openai_server.requests_to("/files", "POST")
    lines = [json.loads(line) for line in upload.file.decode().splitlines()]
    assert len(lines) == job.example_count, "the training part is uploaded, the test part held out"
    assert all(line["messages"][-1]["role"] == "assistant" for line in lines)


async def test_followed_job_succeeds_and_its_model_answers_after_use(
    openai_server: FakeOpenAI, sut: Console
) -> None:
    job_id = await train(sut)
    [remote_id] = openai_server.jobs

    followed = [await sut.handle(f"!jobs {job_id}") for _ in range(3)]
    model = openai_server.jobs[remote_id].data["fine_tuned_model"]
    switched = await sut.handle(f"!use {model}")
    reply = await sut.handle("What is 2 plus 2?")

    assert "succeeded" in followed[-1]
    assert model.startswith("ft:")
    assert model in followed[-1]
    assert switched.startswith(f"Now answering with {model}")
    assert reply.splitlines()[0] == "reply to: What is 2 plus 2?"
    assert chat_requests(openai_server)[-1].json["model"] == model
