"""Shared helpers for the OpenAI adapter tests: datasets, jobs and checks of user-facing messages.

Every adapter test builds its `AsyncOpenAI` client with the project's own `make_client` and
points it at the `openai_server` fake; this module only holds what several test files need.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trainerbot.core.entities import (
    Dataset,
    Example,
    JobStatus,
    Task,
    TrainingJob,
    TrainingSpec,
)

API_KEY = "sk-test-secret-9f8e7d6c5b4a"
CHAT_MODEL = "gpt-5.6-terra"
TUNABLE_MODEL = "gpt-4.1-mini-2025-04-14"
STT_MODEL = "gpt-transcribe"
TTS_MODEL = "gpt-4o-mini-tts"
EMBEDDING_MODEL = "text-embedding-3-small"
# Nothing listens on the discard port of this machine: connecting fails at once.
UNREACHABLE_URL = "http://127.0.0.1:9/v1"

# What must never reach a user: a traceback, a file reference, an SDK exception's repr.
_INTERNALS = re.compile(r"Traceback|File \"|openai\.|httpx|[A-Z]\w+Error\(")


def assert_names_server(message: str, base_url: str) -> None:
    """The message names the server the way users configured it: "the model server at HOST:PORT"."""
    host_port = base_url.removeprefix("http://").removesuffix("/v1")
    expected = re.compile(rf"\b[Tt]he model server at {re.escape(host_port)}\b")
    assert expected.search(message), f"does not name {host_port}: {message!r}"


def assert_one_clear_line(message: str, *, secrets: tuple[str, ...] = (API_KEY,)) -> None:
    """A message fit for a user: one line, no internals, no secret."""
    assert message.strip(), "the message is empty"
    assert "\n" not in message, f"more than one line: {message!r}"
    assert not _INTERNALS.search(message), f"internals shown to the user: {message!r}"
    for secret in secrets:
        assert secret not in message, f"a secret is shown: {message!r}"


def chat_dataset(count: int = 20, *, name: str = "reviews", **example_options: Any) -> Dataset:
    return Dataset(
        name=name,
        task=Task.CHAT,
        examples=tuple(
            Example.single_turn(f"q{i}", f"a{i}", **example_options) for i in range(count)
        ),
    )


def preference_dataset(count: int = 20, *, name: str = "prefs") -> Dataset:
    return Dataset(
        name=name,
        task=Task.CHAT,
        examples=tuple(
            Example.single_turn(f"q{i}", f"good {i}", rejected=f"bad {i}") for i in range(count)
        ),
    )


def job_for(dataset: Dataset, *, job_id: str = "job-1") -> TrainingJob:
    return TrainingJob(
        id=job_id,
        trainer="openai",
        status=JobStatus.VALIDATING,
        dataset_name=dataset.name,
        dataset_version=dataset.version,
        example_count=len(dataset.examples),
        requested_by="u",
    )


def spec_for(
    train: Dataset, *, validation: Dataset | None = None, job_id: str = "job-1", **options: Any
) -> TrainingSpec:
    return TrainingSpec(
        dataset=train,
        validation=validation,
        suffix="reviews",
        seed=7,
        metadata={"dataset": train.name, "dataset_version": train.version, "job": job_id},
        **options,
    )


def jsonl_lines(data: bytes) -> list[dict[str, Any]]:
    """Every line of an uploaded JSONL file, parsed (fails the test on a line that is not JSON)."""
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
