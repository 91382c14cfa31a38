"""Tenants from the command line, as an operator uses them: real processes on one workspace.

Every Discord server is a tenant with a workspace of its own (``servers/<id>/``); ``--server``
makes the console and the one-shot commands act in one. What one server trained, asked and
corrected is unknown in another, and in the console's own tenant. ``trainerbot adopt`` moves a
workspace written before tenants into one server (``create_bot`` does it by itself when exactly
one server is configured), and ``trainerbot doctor`` lists the tenants with their sizes.

Offline and quick: fewshot models without embeddings (TF-IDF), and questions a model was taught
word for word, which it answers without the base model.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from database_support import tenant_rows
from trainerbot.adapters.console import Console
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import close_container, create_bot, create_container
from trainerbot.core.entities import (
    Dataset,
    Example,
    Feedback,
    JobStatus,
    Task,
    TrainingJob,
)
from trainerbot.core.tenancy import Tenant
from tree_support import files

QUESTION = "What is secret code 3?"
ANSWER = "The code is ALPHA-3"  # what the fewshot model answers to QUESTION, taught word for word
CORRECTION = "The code is OMEGA-111"  # a correction made only in server 111
MADE_UP_MODEL = "fewshot:data-000000000000"
MADE_UP_JOB = "job-000000000000"
MADE_UP_ANSWER = "m00000000"
BAD_SERVER = "trainerbot: --server: A server id is a Discord id: a number of up to 20 digits."


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRAINERBOT_") and k != "OPENAI_API_KEY"
    }
    # Offline and quick: no sentence-embedding model to load (fewshot retrieves by TF-IDF).
    env["TRAINERBOT_EMBEDDINGS"] = "none"
    env.update(extra)
    return env


def trainerbot(*args: str, workspace: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=workspace.parent,
        env=clean_env(TRAINERBOT_WORKSPACE=str(workspace)),
        timeout=60,
        check=False,
    )


def chat_examples() -> str:
    return "".join(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"What is secret code {i}?"},
                    {"role": "assistant", "content": f"The code is ALPHA-{i}"},
                ]
            }
        )
        + "\n"
        for i in range(12)
    )


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, f"no /{pattern}/ in {text!r}"
    return match.group(1)


def replies(result: subprocess.CompletedProcess[str], count: int) -> list[str]:
    """The replies of a piped console whose first ``count`` commands each answer one line; what
    follows (a longer reply) is the last item."""
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return [*lines[:count], "\n".join(lines[count:])]


# --- two servers on one workspace ---------------------------------------------------------------


@dataclass(frozen=True)
class Trained:
    """Server 111 after its operator trained a model, chose it, asked and corrected an answer."""

    workspace: Path
    model: str
    job: str
    answer: str  # the message id of the model's answer in 111
    used: str  # the console's output in 111: !use, the question
    corrected: str  # the console's output in 111: !correct, !export


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    workspace = tmp_path_factory.mktemp("tenants") / "workspace"
    (workspace / "servers" / "111" / "data").mkdir(parents=True)
    (workspace / "servers" / "111" / "data" / "chat.jsonl").write_text(chat_examples())

    train = trainerbot(
        "train", "--server", "111", "data_dir=data", "method=fewshot", workspace=workspace
    )
    assert train.returncode == 0, train.stdout + train.stderr
    model = found(r"!use (fewshot:\S+)", train.stdout)
    job = found(r"job (job-[0-9a-f]+)", train.stdout)
    used = trainerbot(
        "console", "--server", "111", workspace=workspace, stdin=f"!use {model}\n{QUESTION}\n"
    )
    assert used.returncode == 0, used.stderr
    answer = found(r"!correct (\S+) ", used.stdout)
    corrected = trainerbot(
        "console",
        "--server",
        "111",
        workspace=workspace,
        stdin=f"!correct {answer} {CORRECTION}\n!export\n",
    )
    assert corrected.returncode == 0, corrected.stderr
    return Trained(workspace, model, job, answer, used.stdout, corrected.stdout)


def test_the_server_that_trained_has_its_model_answer_and_correction(trained: Trained) -> None:
    """The control: in 111 the model, the answer and the correction are there, so what the other
    tenants do not see below is theirs not to see."""
    assert f"Now answering with {trained.model}" in trained.used
    assert ANSWER in trained.used
    assert "recorded" in trained.corrected
    mine = trained.workspace / "servers" / "111"
    [export] = (mine / "exports").glob("corrections-2*.jsonl")
    assert CORRECTION in export.read_text()
    assert list((mine / "models" / "fewshot").glob("*.zip"))
    assert not (trained.workspace / "records").exists()  # nothing in the root workspace
    # Its records are its rows in the workspace's database, and only its rows.
    rows = tenant_rows(trained.workspace)
    for secret in (ANSWER, CORRECTION, trained.model, trained.job):
        assert secret.encode() in rows["111"], secret
    assert set(rows) == {"111"}


@dataclass(frozen=True)
class Probe:
    """A command naming something of server 111 (``mine``), and the same command naming a made-up
    stand-in (``made_up``): another tenant must answer both alike."""

    command: str
    mine: str
    made_up: str

    @property
    def made_up_command(self) -> str:
        return self.command.replace(self.mine, self.made_up)


def probes(trained: Trained) -> list[Probe]:
    folder = trained.workspace / "servers" / "111"
    [zipped] = (folder / "models").rglob("*.zip")
    model_file = str(zipped.relative_to(folder))
    return [
        Probe(f"!use {trained.model}", trained.model, MADE_UP_MODEL),
        Probe(f"!test model={trained.model} {QUESTION}", trained.model, MADE_UP_MODEL),
        Probe(f"!jobs {trained.job}", trained.job, MADE_UP_JOB),
        Probe(f"!cancel {trained.job}", trained.job, MADE_UP_JOB),
        Probe(f"!correct {trained.answer} no", trained.answer, MADE_UP_ANSWER),
        Probe("!getfile data/chat.jsonl", "data/chat.jsonl", "data/made-up.jsonl"),
        Probe(f"!getfile {model_file}", model_file, "models/fewshot/made-up.zip"),
    ]


# Each answers one line; !models, last, several.
OTHER_COMMANDS = ["!getfile ../111/data/chat.jsonl", "!jobs", "!export"]


def commands_for_another_tenant(trained: Trained) -> str:
    asked = [c for p in probes(trained) for c in (p.command, p.made_up_command)]
    return "".join(f"{line}\n" for line in [*asked, *OTHER_COMMANDS, "!models"])


def check_sees_nothing_of_111(result: subprocess.CompletedProcess[str], trained: Trained) -> None:
    asked = [c for p in probes(trained) for c in (p.command, p.made_up_command)]
    *answers, models = replies(result, len(asked) + len(OTHER_COMMANDS))
    by_line = dict(zip([*asked, *OTHER_COMMANDS], answers, strict=True))
    for probe in probes(trained):
        mine, made_up = by_line[probe.command], by_line[probe.made_up_command]
        # An id or a path of another tenant is answered exactly as one nobody ever made.
        assert mine.startswith("error: "), mine
        assert mine.replace(probe.mine, "<x>") == made_up.replace(probe.made_up, "<x>"), (
            mine,
            made_up,
        )
        assert re.search("no model|no training job|no answer|no file or folder", mine), mine
    assert by_line["!getfile ../111/data/chat.jsonl"] == (
        "error: That path leads outside the workspace; give a path inside it."
    )
    assert by_line["!jobs"].startswith("No training jobs yet"), by_line["!jobs"]
    assert by_line["!export"].startswith("error: No corrections"), by_line["!export"]
    # !models: the base model only, and active; nothing trained in 111.
    assert trained.model not in models
    assert "fewshot" not in models
    assert models.lstrip().startswith("→"), models
    for text in (result.stdout, result.stderr):
        assert "ALPHA" not in text
        assert CORRECTION not in text


def assert_holds_nothing_of_111(folder: Path, trained: Trained) -> None:
    """Neither the tenant's folder nor its rows in the records database (the tenant's key is its
    folder's name) hold anything of 111."""
    rows = tenant_rows(trained.workspace).get(folder.name, b"")
    for name, data in [*files(folder).items(), ("its rows in the database", rows)]:
        for secret in (ANSWER, CORRECTION, trained.model, trained.job, trained.answer):
            assert secret.encode() not in data, f"{secret} is in {folder.name}/{name}"


def test_another_server_sees_nothing_of_what_one_server_trained(trained: Trained) -> None:
    result = trainerbot(
        "console",
        "--server",
        "222",
        workspace=trained.workspace,
        stdin=commands_for_another_tenant(trained),
    )

    check_sees_nothing_of_111(result, trained)
    assert_holds_nothing_of_111(trained.workspace / "servers" / "222", trained)


def test_the_console_without_a_server_sees_nothing_of_it_either(trained: Trained) -> None:
    result = trainerbot(
        "console", workspace=trained.workspace, stdin=commands_for_another_tenant(trained)
    )

    check_sees_nothing_of_111(result, trained)
    assert_holds_nothing_of_111(trained.workspace / "servers" / "console", trained)


# --- adopting a workspace from before tenants ---------------------------------------------------


async def legacy_workspace(workspace: Path) -> str:
    """A workspace as a release before tenants left it, made by the root container's use cases
    (the single-tenant library use): a dataset folder, a trained fewshot model, an answer and a
    correction; a folder and a file of the operator's own. Returns the model's id."""
    (workspace / "data").mkdir(parents=True)
    (workspace / "data" / "chat.jsonl").write_text(chat_examples())
    (workspace / "my notes").mkdir()
    (workspace / "my notes" / "todo ✓.txt").write_text("adopt the workspace\n")
    (workspace / "README.txt").write_text("the bot's workspace\n")
    # Its records in JSON Lines files, as every release before the records' database kept them.
    settings = Settings(workspace=workspace, embeddings="none", records="jsonl")
    container = create_container(settings)
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    console = Console(container.use_cases())
    trained = await console.handle("!train data_dir=data method=fewshot")
    model = found(r"!use (fewshot:\S+)", trained)
    answered = await console.handle("Capital of France?")
    answer = found(r"!correct (\S+) ", answered)
    corrected = await console.handle(f"!correct {answer} Paris")
    assert "recorded" in corrected, corrected
    return model


async def test_adopt_moves_an_old_workspace_into_the_server_losing_nothing(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    model = await legacy_workspace(workspace)
    before = files(workspace)
    assert {
        "records/corrections.jsonl",
        "records/interactions.jsonl",
        "records/models.jsonl",
    } <= set(before)
    assert any(name.startswith("models/fewshot/") for name in before)
    assert any(name.startswith("datasets/data/") for name in before)

    adopted = trainerbot("adopt", "--server", "123", workspace=workspace)

    assert adopted.returncode == 0, adopted.stderr
    [report] = adopted.stdout.splitlines()
    assert report.startswith(f"Moved 6 items ({len(before)} files, "), report
    assert "into server 123: " in report
    for item in ("README.txt", "data/", "datasets/", "models/", "my notes/", "records/"):
        assert item in report
    assert "Traceback" not in adopted.stderr
    # Every file, byte for byte, at the same path below the server's folder; none left behind.
    tenant = workspace / "servers" / "123"
    assert files(tenant) == before
    assert files(workspace) == {f"servers/123/{name}": data for name, data in before.items()}

    again = trainerbot("adopt", "--server", "123", workspace=workspace)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "Nothing to adopt: the workspace holds no data outside its tenants' folders."
    ]
    assert files(tenant) == before

    # The server, started from the console, has its old models, records and corrections.
    used = trainerbot(
        "console",
        "--server",
        "123",
        workspace=workspace,
        stdin=f"!models\n!use {model}\n{QUESTION}\n!export\n",
    )

    assert used.returncode == 0, used.stderr
    assert model in used.stdout.split("Now answering with")[0]  # listed by !models
    assert f"Now answering with {model}" in used.stdout
    assert ANSWER in used.stdout
    [export] = (tenant / "exports").glob("corrections-2*.jsonl")
    assert "Paris" in export.read_text()  # the correction made before tenants
    # Its records' files were imported into the workspace's database as the console started.
    [imported] = [line for line in used.stderr.splitlines() if "Imported " in line]
    assert "from 1 workspace(s)" in imported
    # That database holds every tenant's records: it is no data of a workspace before tenants.
    assert (workspace / RECORDS_DATABASE).is_file()
    elsewhere = trainerbot("adopt", "--server", "456", workspace=workspace)
    assert elsewhere.stdout.splitlines() == [
        "Nothing to adopt: the workspace holds no data outside its tenants' folders."
    ]


async def test_adopt_refuses_a_server_that_already_has_data_and_moves_nothing(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "servers" / "123" / "records").mkdir(parents=True)
    (workspace / "servers" / "123" / "records" / "jobs.jsonl").write_text('{"id":"job-1"}\n')
    (workspace / "records").mkdir()
    (workspace / "records" / "interactions.jsonl").write_text('{"id":"int-1"}\n')
    (workspace / "late.txt").write_text("written after the adoption")
    before = files(workspace)
    top = sorted(p.name for p in workspace.iterdir())

    refused = trainerbot("adopt", "--server", "123", workspace=workspace)

    assert refused.returncode == 1
    assert refused.stdout == ""
    [line] = [text for text in refused.stderr.splitlines() if text.strip()]
    assert line.startswith("trainerbot: Server 123 already has data: nothing was moved."), line
    assert files(workspace) == before
    assert sorted(p.name for p in workspace.iterdir()) == top


def test_create_bot_with_exactly_one_server_adopts_the_old_workspace(tmp_path: Path) -> None:
    def old_workspace(at: Path) -> dict[str, bytes]:
        (at / "records").mkdir(parents=True)
        (at / "records" / "interactions.jsonl").write_text('{"id":"int-1","prompt":"ü"}\n')
        (at / "models" / "fewshot").mkdir(parents=True)
        (at / "models" / "fewshot" / "m.zip").write_bytes(bytes(range(256)))
        return files(at)

    one, two, none = (tmp_path / name for name in ("one", "two", "none"))
    before = old_workspace(one)
    for workspace in (two, none):
        old_workspace(workspace)

    create_bot(create_container(Settings(workspace=one, discord_guilds=frozenset({123}))))
    create_bot(create_container(Settings(workspace=two, discord_guilds=frozenset({123, 456}))))
    create_bot(create_container(Settings(workspace=none)))

    assert files(one / "servers" / "123") == before
    assert not (one / "records" / "interactions.jsonl").exists()
    # Which server the data is of is not for the bot to guess with two servers, or none.
    for workspace in (two, none):
        assert files(workspace) == before
    # Started again: nothing more to adopt, nothing changes.
    create_bot(create_container(Settings(workspace=one, discord_guilds=frozenset({123}))))
    assert files(one) == {f"servers/123/{name}": data for name, data in before.items()}


def test_create_bot_starts_when_the_old_workspace_cannot_be_adopted_and_moves_no_stranger(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's tenant already has data: the bot still starts, says why in the log, and
    moves nothing. A folder holding no trainerbot records (TRAINERBOT_WORKSPACE=. in a project)
    is never moved by surprise, and hidden files (.env) never are."""
    taken = tmp_path / "taken"
    (taken / "records").mkdir(parents=True)
    (taken / "records" / "corrections.jsonl").write_text('{"id":"cor-1"}\n')
    (taken / "servers" / "123" / "records").mkdir(parents=True)
    (taken / "servers" / "123" / "records" / "jobs.jsonl").write_text('{"id":"job-1"}\n')
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("TRAINERBOT_DISCORD_TOKEN=x\n")
    (project / "notes.txt").write_text("the operator's own file\n")
    before = {workspace: files(workspace) for workspace in (taken, project)}

    with caplog.at_level("WARNING"):
        for workspace in (taken, project):
            settings = Settings(workspace=workspace, discord_guilds=frozenset({123}))
            assert create_bot(create_container(settings)) is not None

    assert files(taken) == before[taken]
    assert files(project) == before[project]
    [warning] = [r.getMessage() for r in caplog.records if "not adopted" in r.getMessage()]
    assert "already has data" in warning


@pytest.mark.parametrize("records", ["sqlite", "jsonl"])
async def test_a_restarted_bot_looks_for_unfinished_jobs_only_in_tenants_that_ever_had_jobs(
    tmp_path: Path, records: str
) -> None:
    """At start the bot follows unfinished jobs again; in a bot with many servers, only those
    that ever trained are loaded for it (found on disk, no tenant loaded to ask), the records in
    the workspace's database (the default) or in JSON Lines files."""
    settings = Settings(workspace=tmp_path, records=records)
    first = create_container(settings)
    tenants = first.tenants()
    trained, chatted = Tenant.server(111), Tenant.direct(222)
    job = TrainingJob(
        id="job-1",
        trainer="fewshot",
        status=JobStatus.QUEUED,
        dataset_name="qa",
        dataset_version="v1",
        example_count=1,
        requested_by="ada",
        origin="discord:channel=1;message=2",
    )
    examples = (Example.single_turn("hi", "hello"), Example.single_turn("bye", "ciao"))
    dataset = Dataset(name="qa", task=Task.CHAT, examples=examples, source="inline")
    await tenants.container(trained).datasets().save(dataset)  # as !train does, first
    await tenants.container(trained).jobs().save(job)
    tenants.container(chatted).workspace()  # a tenant with a folder, and no job ever
    await tenants.container(chatted).feedback().add(Feedback(id="fb-1", author_id="ada", text="hi"))
    await close_container(first)

    again = create_container(settings)
    try:
        fresh = again.tenants()

        assert fresh.known() == [trained, chatted]
        assert fresh.with_jobs() == [trained]
        assert fresh.registry.built == 0
        [unfinished] = await fresh.container(trained).jobs().all()
        assert unfinished.id == job.id
    finally:
        await close_container(again)


# --- doctor and a bad --server ------------------------------------------------------------------


def test_doctor_lists_the_tenants_with_their_sizes(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    servers = workspace / "servers"
    (servers / "111" / "records").mkdir(parents=True)
    (servers / "111" / "records" / "interactions.jsonl").write_bytes(b"x" * 1000)
    (servers / "111" / "records" / "jobs.jsonl").write_bytes(b"y" * 1048)
    (servers / "dm-5" / "records").mkdir(parents=True)
    (servers / "dm-5" / "records" / "corrections.jsonl").write_bytes(b"z" * 10)
    (servers / "console" / "records").mkdir(parents=True)  # started once, holds nothing
    (servers / "not-a-tenant").mkdir()
    (servers / "not-a-tenant" / "big.bin").write_bytes(b"b" * 100_000)

    result = trainerbot("doctor", workspace=workspace)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("tenants: 3 in servers/ (2.0 KB)")
    rows = [line.split() for line in lines[start + 1 : start + 4]]
    assert rows == [
        ["111", "server", "2", "files", "2.0", "KB"],
        ["dm-5", "direct", "1", "files", "10", "bytes"],
        ["console", "console", "0", "files", "0", "bytes"],
    ]
    assert not lines[start + 4].startswith("  "), "only the tenants are listed"
    assert "not-a-tenant" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("console", "--server", "abc"),
        ("train", "--server", "../111", "data_dir=data"),
        ("adopt", "--server", "dm-abc"),
    ],
    ids=["console", "train", "adopt"],
)
def test_a_bad_server_id_is_one_clear_line_and_a_failure(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    workspace = tmp_path / "workspace"

    result = trainerbot(*args, workspace=workspace, stdin="!hi\n")

    assert result.returncode != 0
    assert result.stdout == ""
    expected = BAD_SERVER.replace("server id", "user id") if "dm-" in args[-1] else BAD_SERVER
    assert result.stderr.splitlines() == [expected]
    assert not workspace.exists()  # nothing made for a tenant that is not one
