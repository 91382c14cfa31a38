"""Every command of the catalogue through dpytest, beyond test_bot's parity checks: training on
inline data and attachments, testing, archives, dataset selection, transcription, following and
cancelling jobs, !help, case-insensitive commands, mentions, and a long command that does not
hold up the others."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import struct
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from dependency_injector import providers
from discord.ext import commands
from discord_support import ANSWER, Server, drain, say, send

from trainerbot.adapters.memory import (
    InMemoryChatModel,
    InMemoryCorrectionStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelTrainer,
    InMemoryWorkspace,
)
from trainerbot.container import Container
from trainerbot.core import reports
from trainerbot.core.commands import COMMANDS, greeting, help_text
from trainerbot.core.entities import JobStatus, TrainingJob, TrainingSpec
from trainerbot.core.show_instructions import InstructionsRequest

AUDIO_PATH = "voice/question.ogg"
AUDIO = b"\x00\x01" * 16_000  # one second of 16 kHz PCM for the in-memory converter
CHATS = "\n".join(
    json.dumps({"prompt": prompt, "completion": completion})
    for prompt, completion in [
        ("What is the capital of France?", "Paris."),
        ("What is the capital of Spain?", "Madrid."),
        ("What is the capital of Italy?", "Rome."),
        ("What is the capital of Peru?", "Lima."),
    ]
)
TIMEOUT = 5.0


class GatedTrainer(InMemoryModelTrainer):
    """The in-memory trainer, whose ``start`` waits for ``gate`` (open unless a test closes it)
    and sets ``waiting`` when it begins to wait."""

    def __init__(self) -> None:
        super().__init__("local", immediate=True)
        self.gate = asyncio.Event()
        self.gate.set()
        self.waiting = asyncio.Event()

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        self.waiting.set()
        await self.gate.wait()
        return await super().start(spec, job=job)


@pytest.fixture
def trainer() -> GatedTrainer:
    return GatedTrainer()


@pytest.fixture
def container(container: Container, trainer: GatedTrainer) -> Container:
    """The Discord tests' container, with a trainer the tests can hold up, and a workspace that
    also has a recording and a folder of chat examples."""
    container.trainers.override(providers.Object({"local": trainer}))
    workspace = container.workspace()
    assert isinstance(workspace, InMemoryWorkspace)
    workspace.files[AUDIO_PATH] = AUDIO
    workspace.files["chats/capitals.jsonl"] = CHATS.encode()
    return container


def chat_model(server: Server) -> InMemoryChatModel:
    model = server.container.chat_model()
    assert isinstance(model, InMemoryChatModel)
    return model


def job_store(server: Server) -> InMemoryJobStore:
    jobs = server.container.jobs()
    assert isinstance(jobs, InMemoryJobStore)
    return jobs


def workspace(server: Server) -> InMemoryWorkspace:
    files = server.container.workspace()
    assert isinstance(files, InMemoryWorkspace)
    return files


def settings_default_model(server: Server) -> str:
    model: str = server.container.settings().resolved_chat_model
    return model


async def next_sent() -> discord.Message:
    """The bot's next message, waiting for it (without waiting for every handler to finish)."""
    message: discord.Message = await asyncio.wait_for(dpytest.sent_queue.get(), TIMEOUT)
    return message


TRAIN_STATUS = "⏳ Checking the dataset and starting training…"
TRAIN_FAILED = "❌ Checking the dataset and starting training: failed."


# --- !train and !use --------------------------------------------------------------------------


async def test_train_on_inline_labelled_lines_then_use_its_model_for_chat(
    server: Server, trainer: GatedTrainer
) -> None:
    lines = (
        "text,label\ngreat film,positive\nawful film,negative\nloved it,positive\nhated it,negative"
    )

    status, result = await say(server, f"!train ```csv\n{lines}\n```")

    assert status == TRAIN_STATUS
    [job] = await job_store(server).all()
    assert job.status is JobStatus.SUCCEEDED
    assert job.dataset_name == "inline"
    assert job.model == f"local:{job.id}"
    [spec] = trainer.started
    assert spec.validation is not None
    trained = {
        e.user_text: e.completion for e in (*spec.dataset.examples, *spec.validation.examples)
    }
    assert trained == {
        "great film": "positive",
        "awful film": "negative",
        "loved it": "positive",
        "hated it": "negative",
    }
    assert result.splitlines()[0] == f"Training job {job.id} (local): succeeded."
    assert result.splitlines()[1].startswith("Dataset inline: 4 examples (")
    assert result.splitlines()[-1] == f"Model {job.model} is ready: use it with !use {job.model}"

    default = settings_default_model(server)
    assert await say(server, f"!use {job.model}") == [
        f"Now answering with {job.model} (was {default})."
    ]
    assert await say(server, "What is the capital of France?", by=server.member) == [ANSWER]
    assert chat_model(server).calls[-1].model == job.model


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("capitals.jsonl", CHATS),
        (
            "capitals.csv",
            "question,answer\n"
            "What is the capital of France?,Paris.\n"
            "What is the capital of Spain?,Madrid.\n"
            "What is the capital of Italy?,Rome.\n"
            "What is the capital of Peru?,Lima.\n",
        ),
    ],
)
async def test_train_on_an_attached_file_names_the_dataset_after_it(
    server: Server, trainer: GatedTrainer, tmp_path: Path, filename: str, content: str
) -> None:
    upload = tmp_path / "uploads" / filename
    upload.parent.mkdir()
    upload.write_text(content)

    replies = await send(server, "!train", attachments=[str(upload)])

    [job] = await job_store(server).all()
    assert job.dataset_name == "capitals"
    assert job.status is JobStatus.SUCCEEDED
    [spec] = trainer.started
    assert spec.validation is not None
    trained = {
        e.user_text: e.completion for e in (*spec.dataset.examples, *spec.validation.examples)
    }
    assert trained == {
        "What is the capital of France?": "Paris.",
        "What is the capital of Spain?": "Madrid.",
        "What is the capital of Italy?": "Rome.",
        "What is the capital of Peru?": "Lima.",
    }
    assert replies[0].content == TRAIN_STATUS
    assert replies[-1].content.startswith(f"Training job {job.id} (local): succeeded.\n")
    assert "Dataset capitals: 4 examples (" in replies[-1].content

    [used] = await say(server, f"!use {job.model}")
    assert used.startswith(f"Now answering with {job.model} (was ")
    assert await say(server, "What is the capital of Peru?", by=server.member) == [ANSWER]
    assert chat_model(server).calls[-1].model == job.model


async def test_train_on_an_invalid_dataset_reports_the_problems_and_starts_nothing(
    server: Server, trainer: GatedTrainer
) -> None:
    data = '{"prompt": "What is the capital of France?", "completion": "Paris."}\nnot json'

    replies = await send(server, f"!train ```\n{data}\n```")

    status, report = replies
    assert (await server.channel.fetch_message(status.id)).content == TRAIN_FAILED
    problem = "line 2: not valid JSON: Expecting value at column 1"
    assert report.content.splitlines()[:2] == [
        f"error: invalid: 1 problem — {problem}",
        f"  {problem}",
    ]
    assert await job_store(server).all() == []
    assert trainer.started == []
    assert await server.container.datasets().names() == []


# --- !test ------------------------------------------------------------------------------------


TEST_DATA = json.dumps(
    {
        "What is the capital of France?": "Paris is the capital of France.",
        "What is the capital of Spain?": "Madrid is the capital of Spain.",
    }
)


@pytest.mark.parametrize("data", [TEST_DATA, f"```json\n{TEST_DATA}\n```"])
async def test_test_with_inline_json_reports_the_metrics_of_the_models_answers(
    server: Server, data: str
) -> None:
    # The model answers ANSWER to both: the first exactly, the second with 4 of 6 words right
    # (token F1 2/3), so token F1 is (1 + 2/3) / 2.
    status, report, _files = await send(server, f"!test {data}")

    assert (await server.channel.fetch_message(status.id)).content == "✅ Testing: done."
    summary = "token F1 0.83, exact match 0.50, normalized match 0.50 on 2 examples"
    default = settings_default_model(server)
    lines = report.content.splitlines()
    assert lines[0] == summary
    assert lines[1] == f"  {default} on test: {summary}"
    assert "  exact match: 0.50" in lines
    assert "  token F1: 0.83" in lines
    assert any(line.startswith('  1. "What is the capital of Spain?"') for line in lines)
    assert "!fix <number> [right answer] turns a failure into a correction" in lines[-1]
    calls = chat_model(server).calls
    assert {call.model for call in calls} == {default}
    assert sorted(call.messages[-1].content for call in calls) == [
        "What is the capital of France?",
        "What is the capital of Spain?",
    ]


async def test_test_scores_a_model_that_answers_everything_right_as_perfect(server: Server) -> None:
    server.model.answer = "Paris is the capital of France."
    data = json.dumps({"What is the capital of France?": server.model.answer})

    _, report, _files = await say(server, f"!test {data}")

    assert report.splitlines()[0] == (
        "token F1 1.00, exact match 1.00, normalized match 1.00 on 1 example"
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_test_attaches_predictions_jsonl_and_a_chart_of_the_metrics(server: Server) -> None:
    *_, files = await send(server, f"!test {TEST_DATA}")

    # (dpytest drops the text of a message that carries files; the files are what matter.)
    assert [a.filename for a in files.attachments] == ["predictions.jsonl", "metrics.png"]
    predictions, chart = files.attachments
    records = [json.loads(line) for line in (await predictions.read()).decode().splitlines()]
    assert [(r["user"], r["output"], r["correct"], r["failure"]) for r in records] == [
        ("What is the capital of France?", ANSWER, True, None),
        ("What is the capital of Spain?", ANSWER, False, 1),
    ]
    width, height = png_size(await chart.read())
    assert width >= 400
    assert height >= 300


async def test_test_with_a_baseline_attaches_the_comparison_chart(server: Server) -> None:
    *_, report, files = await send(server, f"!test {TEST_DATA} baseline=base-model")

    assert "vs base-model" in report.content
    assert [a.filename for a in files.attachments] == ["predictions.jsonl", "comparison.png"]
    records = [json.loads(line) for line in (await files.attachments[0].read()).splitlines()]
    assert {r["baseline_output"] for r in records} == {ANSWER}
    assert {call.model for call in chat_model(server).calls} == {
        settings_default_model(server),
        "base-model",
    }


async def test_files_over_the_servers_upload_limit_are_left_out_and_named(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discord.Guild, "filesize_limit", property(lambda guild: 10))

    *_, files = await send(server, f"!test {TEST_DATA}")

    assert files.attachments == []
    assert files.content.startswith("Over the upload limit of 10 bytes, not attached: ")
    assert "predictions.jsonl (" in files.content
    assert "metrics.png (" in files.content


# --- !fix -------------------------------------------------------------------------------------


@pytest.fixture
def fixing(server: Server) -> Server:
    """The server, for the !fix tests (the tests the bot's TestModel ran are remembered)."""
    return server


def stored_corrections(server: Server) -> InMemoryCorrectionStore:
    store = server.container.corrections()
    assert isinstance(store, InMemoryCorrectionStore)
    return store


async def test_fix_turns_a_failure_of_the_last_test_into_a_correction(fixing: Server) -> None:
    await send(fixing, f"!test {TEST_DATA}")

    [reply] = await say(fixing, "!fix 1")

    [correction] = stored_corrections(fixing).corrections
    assert reply.startswith(f"Failure 1 is now correction {correction.id}: ")
    assert reply.endswith("!train corrections=true trains on the corrections.")
    assert correction.prompt == "What is the capital of Spain?"
    assert correction.wrong_answer == ANSWER
    assert correction.corrected == "Madrid is the capital of Spain."
    assert correction.author_id == str(fixing.trainer.id)


async def test_fix_with_text_records_that_answer(fixing: Server) -> None:
    await send(fixing, f"!test {TEST_DATA}")

    await say(fixing, "!fix 1 Madrid, of course.")

    [correction] = stored_corrections(fixing).corrections
    assert correction.corrected == "Madrid, of course."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("!fix 2", "Your latest test has 1 failure: give a number from 1 to 1."),
        (
            "!fix two",
            "Give the failure's number from the !test report, not 'two': "
            "!fix <number> [right answer].",
        ),
    ],
)
async def test_fix_refuses_a_failure_the_last_test_does_not_have(
    fixing: Server, line: str, expected: str
) -> None:
    await send(fixing, f"!test {TEST_DATA}")

    assert await say(fixing, line) == [expected]
    assert stored_corrections(fixing).corrections == []


async def test_fix_before_any_test_says_to_run_one(fixing: Server) -> None:
    [reply] = await say(fixing, "!fix 1")

    assert reply.startswith("You have not run a test yet")
    assert stored_corrections(fixing).corrections == []


async def test_fix_counts_only_the_trainers_own_tests(fixing: Server) -> None:
    await send(fixing, f"!test {TEST_DATA}")
    other_trainer = fixing.member
    await dpytest.add_role(other_trainer, dpytest.backend.make_role("trainer", fixing.guild))

    [reply] = await say(fixing, "!fix 1", by=other_trainer)

    assert reply.startswith("You have not run a test yet")


# --- workspace commands -----------------------------------------------------------------------


async def test_archive_zips_the_folder_into_the_workspace_archives(server: Server) -> None:
    assert await say(server, "!archive reviews") == [
        "Archived reviews: 2 files, 20 bytes → archives/reviews-1.zip"
    ]

    [archive] = workspace(server).archives
    assert archive.path == "archives/reviews-1.zip"
    assert archive.source == "reviews"
    assert {(entry.path, entry.size) for entry in archive.files} == {
        ("good/1.txt", 10),
        ("bad/1.txt", 10),
    }


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("!select_dataset chats positive=true", True),
        ("!select_dataset chats true", True),
        ("!select_dataset chats positive=false", False),
        ("!select_dataset chats no", False),
    ],
)
async def test_select_dataset_makes_train_without_data_use_that_folder(
    server: Server, trainer: GatedTrainer, line: str, wanted: bool
) -> None:
    [reply] = await say(server, line)

    dataset = await server.container.datasets().get("chats")
    assert dataset is not None
    assert await server.container.datasets().selected() == "chats"
    assert {example.wanted for example in dataset.examples} == {wanted}
    first, archived, last = reply.splitlines()
    assert first.startswith("Selected dataset chats: 4 examples (")
    # The tokens counted with cl100k_base, as the validation report does.
    assert re.search(f"version {dataset.version}, \\d+ tokens$", first), first
    assert archived.startswith("Archived chats: ")
    assert archived.endswith("→ archives/chats-1.zip")
    assert last == "!train with no data now trains on it."
    assert [archive.source for archive in workspace(server).archives] == ["chats"]

    *_, result = await say(server, "!train")

    [job] = await job_store(server).all()
    assert (job.dataset_name, job.dataset_version) == ("chats", dataset.version)
    [spec] = trainer.started
    assert {example.wanted for example in spec.dataset.examples} == {wanted}
    assert result.startswith(f"Training job {job.id} (local): succeeded.")


async def test_transcribe_reads_a_workspace_recording(server: Server) -> None:
    assert await say(server, f"!transcribe {AUDIO_PATH}") == [
        "Heard (1.0 s): what is the capital of france"
    ]

    [(audio, _)] = server.container.speech_to_text().heard
    assert audio.samples == AUDIO


async def test_transcribe_says_when_it_heard_nothing(server: Server) -> None:
    server.container.speech_to_text().text = "  "

    assert await say(server, f"!transcribe {AUDIO_PATH}") == [
        "I heard nothing I could recognise in 1.0 s of audio."
    ]


# --- !jobs and !cancel ------------------------------------------------------------------------


async def test_jobs_lists_the_trained_jobs_and_shows_one(server: Server) -> None:
    assert await say(server, "!jobs") == ["No training jobs yet. Start one with !train."]
    await say(server, "!train data_dir=reviews")
    [job] = await job_store(server).all()

    [listed] = await say(server, "!jobs")
    [shown] = await say(server, f"!jobs {job.id}")

    assert listed == shown == reports.job(job)
    assert listed.startswith(f"{job.id}  succeeded  local    reviews@{job.dataset_version} (")
    assert listed.endswith(f" — model local:{job.id}")


async def test_cancel_stops_a_running_job_and_jobs_then_shows_it_cancelled(
    server: Server, trainer: GatedTrainer
) -> None:
    trainer.immediate = False
    *_, started = await say(server, "!train data_dir=reviews")
    [job] = await job_store(server).all()
    assert not job.status.is_final
    assert started.splitlines()[-1] == f"Follow it with !jobs {job.id}"
    [running] = await say(server, f"!jobs {job.id}")
    assert running.startswith(f"{job.id}  running ")

    [cancelled] = await say(server, f"!cancel {job.id}")

    assert cancelled.startswith(f"{job.id}  cancelled ")
    assert trainer.cancelled == [job.id]
    stored = await job_store(server).get(job.id)
    assert stored is not None
    assert stored.status is JobStatus.CANCELLED
    [shown] = await say(server, f"!jobs {job.id}")
    assert shown.startswith(f"{job.id}  cancelled ")
    [again] = await say(server, f"!cancel {job.id}")
    assert again.startswith(f"Job {job.id} has already")
    assert trainer.cancelled == [job.id]


async def test_cancel_of_an_unknown_job_names_it(server: Server) -> None:
    assert await say(server, "!cancel nope") == ["There is no training job nope; see !jobs."]


# --- help, and every command answers ----------------------------------------------------------


async def test_help_on_train_names_each_of_its_arguments(server: Server) -> None:
    [text] = await say(server, "!help train")

    lines = text.splitlines()
    assert lines[1] == (
        "!train [data] [data_dir] [positive] [method=…] [corrections=…] [holdout=…] [name=…]"
    )
    for param in COMMANDS["train"].params:
        assert f"  {param.name}: {param.help}" in lines
    assert "  (trainers only)" in lines


def bare_command_replies(server: Server, name: str) -> list[str]:
    """What each command, sent alone by a trainer in a fresh server, answers."""
    missing = {
        spec.name: f"Missing {spec.params[0].name}. Usage: {spec.usage()}"
        for spec in COMMANDS.values()
        if spec.params and spec.params[0].required
    }
    if name in missing:
        return [missing[name]]
    return {
        "hi": [greeting(server.trainer.display_name)],
        "help": [f"```\n{help_text(COMMANDS, None)}\n```"],
        "whoami": [
            f"You are {server.trainer.display_name} (id {server.trainer.id}) in server "
            f"{server.guild.id}: a trainer here (!train and the other trainer commands are "
            f"yours).\nI answer with {settings_default_model(server)}."
        ],
        "join": ["Join a voice channel first, then ask me to join you."],
        "leave": ["I am not in a voice channel here."],
        "train": [
            TRAIN_STATUS,
            "Give data to train on: inline text, an attachment, data_dir=<folder>, "
            "corrections=true, or choose a dataset with !select_dataset.",
        ],
        "test": [
            "⏳ Testing…",
            "Give test data: inline JSON, an attachment, data_dir=<file or folder>, "
            "or dataset=<name> (one of them).",
        ],
        "jobs": ["No training jobs yet. Start one with !train."],
        "export": ["No corrections and no 👎 answers are recorded yet: nothing to export."],
        "models": [f" → {settings_default_model(server)}  default"],
        "persona": [bare_settings(server)],
        "settings": [bare_settings(server)],
    }[name]


def bare_settings(server: Server) -> str:
    """``!settings`` (and ``!persona``) of a server that changed nothing."""
    settings = server.container.settings()
    persona = " ".join(settings.system_prompt.split())
    return (
        f"Model: {settings.resolved_chat_model} (the default) — !use to change.\n"
        f"Trainer role: {settings.trainer_role} (the default) — "
        "!settings trainer_role=<name> to change.\n"
        f'Persona (the default) — !persona <text> to change:\n"{persona}"'
    )


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_every_command_alone_answers_a_trainer(server: Server, name: str) -> None:
    replies = await say(server, f"!{name}")

    if name == "instruction":
        instructions = await server.container.show_instructions().execute(InstructionsRequest())
        assert "\n".join(replies) == instructions.text
    else:
        assert replies == bare_command_replies(server, name)
    assert all(reply.strip() for reply in replies)


# --- how messages reach the bot ---------------------------------------------------------------


@pytest.mark.parametrize("line", ["!HI", "!Hi", "!hI"])
async def test_commands_are_case_insensitive(server: Server, line: str) -> None:
    assert await say(server, line, by=server.member) == [greeting(server.member.display_name)]


@pytest.mark.parametrize("mention", ["<@{id}>", "<@!{id}>"])
async def test_a_message_mentioning_the_bot_is_answered_without_the_mention(
    server: Server, mention: str
) -> None:
    assert server.bot.user is not None
    at_bot = mention.format(id=server.bot.user.id)

    [reply] = await send(server, f"{at_bot} what is the capital of France?", by=server.member)

    assert reply.content == ANSWER
    interactions = server.container.interactions()
    assert isinstance(interactions, InMemoryInteractionLog)
    logged = await interactions.find_by_message(str(reply.id))
    assert logged is not None
    assert logged.prompt == "what is the capital of France?"
    assert chat_model(server).calls[-1].messages[-1].content == "what is the capital of France?"


async def test_a_slow_train_does_not_hold_up_other_commands(
    server: Server, trainer: GatedTrainer
) -> None:
    trainer.gate.clear()

    async def train() -> None:
        # dpytest.message waits for every handler, this one included: it runs as a task.
        with contextlib.suppress(commands.CommandError):
            await dpytest.message(
                "!train data_dir=reviews", channel=server.channel, member=server.trainer
            )

    training = asyncio.create_task(train())
    try:
        await asyncio.wait_for(trainer.waiting.wait(), TIMEOUT)
        assert (await next_sent()).content == TRAIN_STATUS
        # The job is recorded before the trainer starts; the trainer is still starting it.
        [job] = await job_store(server).all()
        assert job.status is JobStatus.VALIDATING

        # Sent without dpytest.message, which would wait for the training handler too.
        dpytest.backend.make_message("!hi", server.member, server.channel)

        assert (await next_sent()).content == greeting(server.member.display_name)
        assert not training.done()
    finally:
        trainer.gate.set()
        await asyncio.wait_for(training, TIMEOUT)

    [result] = drain()
    assert result.content.startswith(f"Training job {job.id} (local): succeeded.")
    stored = await job_store(server).get(job.id)
    assert stored is not None
    assert stored.status is JobStatus.SUCCEEDED


async def test_export_writes_the_corrections_and_attaches_them(server: Server) -> None:
    await dpytest.message("What is the capital of France?", member=server.member)
    answer = dpytest.get_message()
    await say(server, f"!correct {answer.id} Paris, on the Seine", by=server.member)

    report, attached = await send(server, "!export")

    exported = workspace(server).exported
    assert [file.path for file in exported] == [
        "exports/corrections-1.jsonl",
        "exports/corrections-preference-2.jsonl",
    ]
    assert report.content.splitlines()[1] == (
        "  exports/corrections-1.jsonl: 1 line — corrections as chat examples (OpenAI chat format)"
    )
    assert [file.filename for file in attached.attachments] == [
        "corrections-1.jsonl",
        "corrections-preference-2.jsonl",
    ]
    assert json.loads(exported[0].data)["messages"][-1] == {
        "role": "assistant",
        "content": "Paris, on the Seine",
    }
