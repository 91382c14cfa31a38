"""The console driving adapter over the real container (memory storage, scripted chat model)."""

import io
import re

import pytest
from dependency_injector import providers

from trainerbot.adapters.console import Console
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryModelTrainer,
    InMemoryWorkspace,
)
from trainerbot.config import Settings
from trainerbot.container import Container, create_container

CHAT_LINES = "\n".join(
    f'{{"messages":[{{"role":"user","content":"q{i}"}},{{"role":"assistant","content":"a{i}"}}]}}'
    for i in range(20)
)


@pytest.fixture
def container() -> Container:
    container = create_container(Settings(storage="memory"))
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Paris"))
    container.trainers.override(
        providers.Object({"local": InMemoryModelTrainer("local", immediate=True)})
    )
    container.workspace.override(
        InMemoryWorkspace({"docs/readme.txt": b"hello from the workspace"})
    )
    return container


@pytest.fixture
def sut(container: Container) -> Console:
    return Console(container.use_cases(), prefix="!")


async def test_hi_greets(sut: Console) -> None:
    assert (await sut.handle("!hi")).startswith("Hi console user!")


async def test_plain_text_is_answered_with_an_id_to_correct_it(
    sut: Console, container: Container
) -> None:
    reply = await sut.handle("What is the capital of France?")
    assert reply.startswith("Paris")
    message_id = re.search(r"!correct (\S+) <right answer>", reply)
    assert message_id is not None

    confirmed = await sut.handle(f"!correct {message_id.group(1)} Paris, on the Seine")
    assert "recorded" in confirmed
    [correction] = await container.corrections().all()
    assert correction.prompt == "What is the capital of France?"
    assert correction.wrong_answer == "Paris"
    assert correction.corrected == "Paris, on the Seine"


async def test_an_unavailable_chat_model_is_said_plainly_and_nothing_is_logged() -> None:
    container = create_container(Settings(storage="memory"))
    sut = Console(container.use_cases())
    reply = await sut.handle("hello")
    assert reply.startswith("error: ")
    assert "not part of this build" in reply
    assert container.interactions().interactions == []


@pytest.mark.parametrize(
    "line",
    [
        "!getfile ../../etc/passwd",
        "!getfile /etc/passwd",
        "!archive ..",
        "!select_dataset ../x",
        "!train data_dir=../../etc",
        "!transcribe ../../etc/passwd",
    ],
)
async def test_paths_outside_the_workspace_are_refused(sut: Console, line: str) -> None:
    reply = await sut.handle(line)
    assert reply == "error: That path leads outside the workspace; give a path inside it."


async def test_getfile_shows_a_workspace_text_file(sut: Console) -> None:
    assert "hello from the workspace" in await sut.handle("!getfile docs/readme.txt")


async def test_train_test_models_and_use_run_the_whole_loop(sut: Console) -> None:
    trained = await sut.handle(f"!train ```\n{CHAT_LINES}\n``` name=capitals")
    assert "succeeded" in trained
    model = re.search(r"use it with !use (\S+)", trained)
    assert model is not None

    assert model.group(1) in await sut.handle("!models")
    assert f"Now answering with {model.group(1)}" in await sut.handle(f"!use {model.group(1)}")
    jobs = await sut.handle("!jobs")
    assert "succeeded" in jobs
    assert "capitals@" in jobs


async def test_an_invalid_dataset_lists_its_bad_lines(sut: Console, container: Container) -> None:
    reply = await sut.handle('!train ```\n{"messages": []}\nnot json\n```')
    assert reply.startswith("error: ")
    assert "line 1" in reply
    assert "line 2" in reply
    assert await container.jobs().all() == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!frobnicate", "error: Unknown command !frobnicate. Type !help to see the commands."),
        ("!correct 12", "error: Missing text. Usage: !correct <message_id> <text...>"),
        ("!correct nope the answer", "error: I have no answer with id nope"),
        ("!feedback    ", "error: Missing text. Usage: !feedback <text...>"),
        ("!jobs job-unknown", "error: There is no training job job-unknown; see !jobs."),
        ("!use gpt-nonexistent", "error: There is no model 'gpt-nonexistent'; see !models."),
    ],
)
async def test_bad_input_gets_one_clear_line(sut: Console, line: str, expected: str) -> None:
    reply = await sut.handle(line)
    assert reply.startswith(expected)
    assert "\n" not in reply


async def test_voice_commands_explain_they_need_discord(sut: Console) -> None:
    assert "only in Discord" in await sut.handle("!join")


async def test_an_unexpected_failure_gets_a_generic_line_and_is_logged(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    container.chat_model.override(InMemoryChatModel(lambda m, model: 1 / 0))  # type: ignore[arg-type,return-value]
    sut = Console(container.use_cases())
    reply = await sut.handle("hello")
    assert reply == "error: something went wrong inside trainerbot; the details are in the log."
    assert "ZeroDivisionError" in caplog.text


async def test_a_piped_run_is_plain_text_and_ends_at_end_of_input(sut: Console) -> None:
    stdout = io.StringIO()
    code = await sut.run(stdin=io.StringIO("!hi\n\nhello\n"), stdout=stdout)
    output = stdout.getvalue()
    assert code == 0
    assert output.splitlines()[0].startswith("Hi console user!")
    assert "Paris" in output
    assert "\x1b[" not in output  # no colour codes
    assert "you>" not in output  # no prompt when nobody is typing
