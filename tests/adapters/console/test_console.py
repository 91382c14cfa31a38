"""The console driving adapter over the real container (memory storage, scripted chat model)."""

import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from trainerbot.adapters.charts import MatplotlibChartRenderer
from trainerbot.adapters.console import Console
from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryModelTrainer,
    InMemoryWorkspace,
)
from trainerbot.config import Settings
from trainerbot.container import Container, create_container
from trainerbot.core.fix_failure import FixFailure, RecentTests
from trainerbot.core.test_model import TestModel
from trainerbot.core.use_cases import UseCases

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
    container = create_container(Settings(storage="memory", chat_backend="openai"))
    sut = Console(container.use_cases())
    reply = await sut.handle("hello")
    assert reply.startswith("error: ")
    assert "TRAINERBOT_OPENAI_API_KEY" in reply
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


# --- !test files and !fix ----------------------------------------------------------------------

TEST_DATA = '{"What is the capital of France?": "Paris", "And of Spain?": "Madrid"}'


class WithFix:
    """The container's use cases, with ``fix_failure`` (as UseCases has once it is wired)."""

    def __init__(self, use_cases: UseCases, fix_failure: FixFailure) -> None:
        self._use_cases = use_cases
        self.fix_failure = fix_failure

    def __getattr__(self, name: str) -> Any:
        return getattr(self._use_cases, name)


@pytest.fixture
def recent() -> RecentTests:
    return RecentTests()


@pytest.fixture
def charted(container: Container, recent: RecentTests) -> Container:
    """The container, with tests that draw charts and are remembered for !fix."""
    container.test_model.override(
        providers.Singleton(
            TestModel,
            chat_model=container.chat_model,
            datasets=container.datasets,
            models=container.models,
            default_model=container.default_model,
            limits=container.limits,
            charts=providers.Singleton(MatplotlibChartRenderer),
            recent=recent,
        )
    )
    return container


def saved_paths(reply: str) -> list[Path]:
    return [
        Path(line.removeprefix("saved: "))
        for line in reply.splitlines()
        if line.startswith("saved: ")
    ]


async def test_test_saves_predictions_and_the_chart_in_the_exports_folder(
    charted: Container, tmp_path: Path
) -> None:
    sut = Console(charted.use_cases(), exports_dir=tmp_path / "exports")

    reply = await sut.handle(f"!test {TEST_DATA}")

    assert reply.startswith("token F1 0.50, exact match 0.50, normalized match 0.50 on 2 examples")
    predictions, chart = saved_paths(reply)
    assert (predictions.name, chart.name) == ("predictions.jsonl", "metrics.png")
    assert predictions.parent == chart.parent
    assert predictions.parent.parent == tmp_path / "exports"
    assert predictions.parent.name.startswith("test-")
    records = [json.loads(line) for line in predictions.read_text("utf-8").splitlines()]
    assert [(r["user"], r["output"], r["correct"]) for r in records] == [
        ("What is the capital of France?", "Paris", True),
        ("And of Spain?", "Paris", False),
    ]
    assert chart.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")

    again = saved_paths(await sut.handle(f"!test {TEST_DATA}"))
    assert again[0].parent != predictions.parent, "each test has a folder of its own"


async def test_without_an_exports_folder_the_files_go_to_a_temporary_one(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sut = Console(container.use_cases())

    predictions, *_charts = saved_paths(await sut.handle(f"!test {TEST_DATA}"))

    assert predictions.name == "predictions.jsonl"
    assert predictions.is_file()
    assert predictions.parent.parent.name.startswith("trainerbot-exports-")
    assert predictions.parent.parent.parent == tmp_path


async def test_files_that_cannot_be_saved_still_leave_the_report(
    container: Container, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    sut = Console(container.use_cases(), exports_dir=blocked)

    reply = await sut.handle(f"!test {TEST_DATA}")

    assert reply.startswith("token F1 0.50")
    assert reply.splitlines()[-1].startswith("The files could not be saved: ")
    assert saved_paths(reply) == []


async def test_fix_turns_a_failure_of_the_last_test_into_a_correction(
    charted: Container, recent: RecentTests, tmp_path: Path
) -> None:
    corrections = charted.corrections()
    assert isinstance(corrections, InMemoryCorrectionStore)
    fix = FixFailure(recent=recent, corrections=corrections)
    sut = Console(WithFix(charted.use_cases(), fix), exports_dir=tmp_path)  # type: ignore[arg-type]

    assert await sut.handle("!fix 1") == (
        "error: You have not run a test yet (or I restarted since): run !test first, then "
        "!fix <number> turns one of its failures into a correction."
    )
    report = await sut.handle(f"!test {TEST_DATA}")
    assert '  1. "And of Spain?": expected "Madrid", got "Paris"' in report.splitlines()

    reply = await sut.handle("!fix 1")

    [correction] = corrections.corrections
    assert reply == (
        f'Failure 1 is now correction {correction.id}: "And of Spain?" → "Madrid" '
        '(the model said "Paris"). !train corrections=true trains on the corrections.'
    )
    assert (correction.prompt, correction.wrong_answer, correction.corrected) == (
        "And of Spain?",
        "Paris",
        "Madrid",
    )
    assert await sut.handle("!fix 2") == (
        "error: Your latest test has 1 failure: give a number from 1 to 1."
    )
