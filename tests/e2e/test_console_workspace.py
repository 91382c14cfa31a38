"""The whole loop through the console on a real workspace: files on disk, records across restarts
(in the workspace's own SQLite database, the default)."""

import json
import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dependency_injector import providers

from trainerbot.adapters.console import Console
from trainerbot.adapters.memory import InMemoryChatModel, InMemoryModelTrainer
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import Container, close_container, create_container

# Every container a test opened: closed when it ends (their database connections with them).
_opened: list[Container] = []


@pytest.fixture(autouse=True)
async def _close_what_was_opened() -> AsyncIterator[None]:
    yield
    while _opened:
        await close_container(_opened.pop())


def open_container(settings: Settings) -> Container:
    container = create_container(settings)
    _opened.append(container)
    return container


def start(
    workspace: Path, trainer: InMemoryModelTrainer | None = None
) -> tuple[Console, Container]:
    """A fresh process, as far as trainerbot knows: new container, same workspace."""
    container = open_container(Settings(workspace=workspace))
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    container.trainers.override(
        providers.Object({"local": trainer or InMemoryModelTrainer("local", immediate=True)})
    )
    return Console(container.use_cases()), container


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    for i in range(8):
        (root / "reviews" / "positive").mkdir(parents=True, exist_ok=True)
        (root / "reviews" / "negative").mkdir(parents=True, exist_ok=True)
        (root / "reviews" / "positive" / f"p{i}.txt").write_text(f"I loved it, part {i}")
        (root / "reviews" / "negative" / f"n{i}.txt").write_text(f"I hated it, part {i}")
    return root


async def test_a_correction_survives_a_restart_and_trains_a_model(workspace: Path) -> None:
    console, first = start(workspace)
    reply = await console.handle("Capital of France?")
    message_id = re.search(r"!correct (\S+) ", reply)
    assert message_id is not None
    await close_container(first)  # the process ends

    # Restart: the interaction is found in the workspace's database and the correction recorded
    # there (as a later start reads it back).
    console, container = start(workspace)
    assert "recorded" in await console.handle(f"!correct {message_id.group(1)} Paris")
    await close_container(container)
    _, later = start(workspace)
    [correction] = await later.corrections().all()
    assert correction.corrected == "Paris"
    assert correction.prompt == "Capital of France?"
    assert (workspace / RECORDS_DATABASE).is_file()
    assert not list((workspace / "records").iterdir())  # no JSON Lines files any more

    console, container = start(workspace, InMemoryModelTrainer("local", immediate=True))
    trained = await console.handle("!train corrections=true")
    assert "succeeded" in trained
    [job] = await container.jobs().all()
    assert job.dataset_name == "corrections"
    assert job.example_count == 1  # the one correction, in the training part
    assert (workspace / "datasets" / "corrections").is_dir()


async def test_select_dataset_labels_by_subfolder_archives_and_trains(workspace: Path) -> None:
    trainer = InMemoryModelTrainer("local", immediate=True)
    console, _ = start(workspace, trainer)

    selected = await console.handle("!select_dataset reviews")
    assert selected.startswith("Selected dataset reviews: 16 examples")
    [archive] = (workspace / "archives").glob("reviews-*.zip")
    with zipfile.ZipFile(archive) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        assert len(manifest["files"]) == 16

    assert "succeeded" in await console.handle("!train")
    [spec] = trainer.started
    assert spec.dataset.labels == ("negative", "positive")
    assert spec.validation is not None
    held_out = {e.user_text for e in spec.validation.examples}
    assert held_out.isdisjoint(e.user_text for e in spec.dataset.examples)


async def test_test_reads_a_file_of_the_workspace_and_scores_it(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / "tests").mkdir()
    answers = {"Capital of France?": "Paris", "Second city of France?": "Lyon"}
    (workspace / "tests" / "cities.json").write_text(json.dumps(answers))
    container = open_container(Settings(workspace=workspace))
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    console = Console(container.use_cases(), exports_dir=tmp_path / "exports")

    reply = await console.handle("!test data_dir=tests/cities.json")

    assert not reply.startswith("error"), reply
    assert reply.startswith("token F1 0.50, exact match 0.50, normalized match 0.50 on 2 examples")
    assert '"Capital of France?": expected "Paris", got "Lyon"' in reply
    [predictions] = (tmp_path / "exports").glob("test-*/predictions.jsonl")
    asked = [json.loads(line)["user"] for line in predictions.read_text().splitlines()]
    assert sorted(asked) == sorted(answers)


async def test_archive_and_getfile_stay_inside_the_workspace(
    workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    (workspace / "reviews" / "leak.txt").symlink_to(outside)
    console, _ = start(workspace)

    assert "top secret" not in await console.handle("!getfile reviews/leak.txt")
    assert "I loved it, part 3" in await console.handle("!getfile reviews/positive/p3.txt")
    archived = await console.handle("!archive reviews")
    assert archived.startswith("Archived reviews: 16 files")
    [archive] = (workspace / "archives").glob("reviews-*.zip")
    with zipfile.ZipFile(archive) as zipped:
        assert not any("leak" in name for name in zipped.namelist())


async def test_refusals_write_nothing(workspace: Path) -> None:
    (workspace / "empty").mkdir()
    (workspace / "blank.jsonl").write_text("")
    console, container = start(workspace)
    records_before = sorted(p.name for p in (workspace / "records").iterdir())

    for line in [
        "!train data_dir=empty",
        "!train data_dir=reviews/positive",  # one label only
        "!train ```\nnot json\n```",
        "!archive empty",
        "!select_dataset ../..",
        "!test data_dir=../outside.json",
        "!test data_dir=blank.jsonl",
        "!feedback   ",
        "!correct 1 nothing to correct",
    ]:
        reply = await console.handle(line)
        assert reply.startswith("error: "), line

    assert sorted(p.name for p in (workspace / "records").iterdir()) == records_before
    # Nor any record in the workspace's database: no job, no correction, no feedback.
    assert await container.jobs().all() == []
    assert await container.corrections().all() == []
    assert await container.feedback().all() == []
    assert list((workspace / "archives").iterdir()) == []
    assert list((workspace / "datasets").iterdir()) == []


async def test_a_one_shot_train_command_stays_until_its_job_ends(workspace: Path) -> None:
    """``trainerbot train …`` runs one command: it must not exit while the job it started runs
    (a lora training lives as long as the process), so it follows the job to its outcome."""
    import asyncio
    import io

    trainer = InMemoryModelTrainer("local")
    container = open_container(Settings(workspace=workspace, job_poll_seconds=0.05))
    container.trainers.override(providers.Object({"local": trainer}))
    console = Console(container.use_cases())
    out = io.StringIO()

    command = asyncio.create_task(console.handle_to_the_end("!train data_dir=reviews", out))
    for _ in range(200):
        jobs = await container.jobs().all()
        if jobs:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    assert not command.done()  # still following the queued job
    trainer.finish(jobs[0].id)
    reply = await asyncio.wait_for(command, 5)

    assert reply.startswith(f"Training job {jobs[0].id} (local): queued.")
    assert f"Training job {jobs[0].id} succeeded" in out.getvalue()
