"""The learning loop in the console with no key and no network: the embedded SmolLM2 answers,
the user corrects it, a fewshot model is trained on the corrections and chosen with !use, and
the corrected answer comes back. Everything is the real container on a workspace on disk."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_container

QUESTION = "What is the capital of Australia?"
CORRECTED = "Canberra is the capital of Australia."


@pytest.fixture
async def opened() -> AsyncIterator[list[Container]]:
    """The containers a test opens: closed (their records' database) when it ends."""
    containers: list[Container] = []
    yield containers
    while containers:
        await close_container(containers.pop())


def open_console(settings: Settings, opened: list[Container]) -> Console:
    container = create_container(settings)
    opened.append(container)
    return Console(container.use_cases(), prefix="!")


async def test_ask_correct_train_fewshot_use_and_ask_again(
    tmp_path: Path, opened: list[Container]
) -> None:
    settings = Settings(workspace=tmp_path / "workspace", temperature=0.0)
    assert not settings.openai_configured
    console = open_console(settings, opened)

    first = await console.handle(QUESTION)
    message_id = re.search(r"!correct (\S+) <right answer>", first)
    assert message_id is not None, first
    answered = first.split("\n")[0]
    assert answered.strip()  # the embedded model said something of its own

    confirmed = await console.handle(f"!correct {message_id[1]} {CORRECTED}")
    assert "recorded" in confirmed

    trained = await console.handle("!train corrections=true method=fewshot")
    model = re.search(r"!use (fewshot:\S+)", trained)
    assert model is not None, trained
    assert "now answering with" in (await console.handle(f"!use {model[1]}")).casefold()

    again = await console.handle(QUESTION)
    assert again.split("\n")[0] == CORRECTED
    # A different question still goes to the embedded model.
    other = await console.handle("Name a colour of the sky on a clear day.")
    assert other.split("\n")[0] != CORRECTED
    # The model, its dataset and the records live in the workspace.
    assert any((tmp_path / "workspace" / "models").rglob("*.zip"))


TAUGHT = (
    ("What is our team's deploy day?", "We deploy on Thursdays at 14:00."),
    ("Who approves expense reports?", "Expense reports are approved by Dmitri Volkov."),
)


async def teach_and_train(console: Console, train: str) -> str:
    """Ask, correct each answer, train on the corrections, follow the job: the model's id."""
    for question, answer in TAUGHT:
        reply = await console.handle(question)
        message_id = re.search(r"!correct (\S+) <right answer>", reply)
        assert message_id is not None, reply
        assert "recorded" in await console.handle(f"!correct {message_id[1]} {answer}")
    trained = await console.handle(train)
    assert "All 2 corrections train" in trained, trained
    job = re.search(r"(job-[0-9a-f]+)", trained)
    assert job is not None, trained
    status = trained
    for _ in range(300):
        model = re.search(r"((?:fewshot|lora):[a-z0-9-]+)", status)
        if model is not None:
            return model[1]
        assert "failed" not in status, status
        await asyncio.sleep(1)
        status = await console.handle(f"!jobs {job[1]}")
    raise AssertionError(f"training did not finish in 5 minutes: {status}")


async def ask_in_other_words(console: Console, model: str) -> None:
    assert "now answering with" in (await console.handle(f"!use {model}")).casefold()
    rephrased = await console.handle("When do we deploy?")
    assert "thursday" in rephrased.split("\n")[0].casefold(), rephrased
    rephrased = await console.handle("Which person do I send expense claims to for approval?")
    assert "volkov" in rephrased.split("\n")[0].casefold(), rephrased
    near_miss = await console.handle("What is our team's hiring freeze day?")
    assert "thursday" not in near_miss.split("\n")[0].casefold(), near_miss


async def test_offline_default_teaches_by_correction_and_answers_in_other_words(
    tmp_path: Path, opened: list[Container]
) -> None:
    """The issue's acceptance loop with the offline default trainer (``local``: for corrections,
    fewshot with recall by meaning): teach by correction, train, !use, then a rephrased question
    gets the taught answer and a near miss does not."""
    settings = Settings(workspace=tmp_path / "workspace", temperature=0.0)
    assert not settings.openai_configured
    console = open_console(settings, opened)

    model = await teach_and_train(console, "!train corrections=true")

    assert model.startswith("fewshot:")
    await ask_in_other_words(console, model)


async def test_a_lora_model_is_trained_chosen_and_answers_through_the_console(
    tmp_path: Path, opened: list[Container]
) -> None:
    """The same loop with the lora trainer: weights trained in a process of their own, the adapter
    applied by llama.cpp, recall by meaning in front of it."""
    settings = Settings(
        workspace=tmp_path / "workspace",
        temperature=0.0,
        lora_epochs=3,  # two facts; the suite's time is everyone's
        lora_anchors=False,
    )
    console = open_console(settings, opened)

    model = await teach_and_train(console, "!train corrections=true method=lora")

    assert model.startswith("lora:")
    assert model in await console.handle("!models")
    await ask_in_other_words(console, model)
    # A question nobody taught is answered by the adapted model itself.
    assert (await console.handle("Name a colour of the sky on a clear day.")).strip()
    # !test runs it like any model: the taught question, asked in other words, scores.
    examples = json.dumps([{"prompt": "When do we deploy?", "completion": TAUGHT[0][1]}])
    tested = await console.handle(f"!test model={model} {examples}")
    assert "exact match 1.00" in tested, tested
    assert list((tmp_path / "workspace" / "models" / "lora").glob("*.gguf"))
