"""The command layer as a program uses it (``run_command``), and the rules every front end gets
from it: who may run what, uploads refused before they are read, replies as structures."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryModelTrainer, InMemoryWorkspace
from trainerbot.config import Settings
from trainerbot.container import create_container
from trainerbot.core.commands import (
    CATALOGUE,
    Files,
    Invocation,
    Reply,
    find,
    parse_arguments,
    run_command,
)
from trainerbot.core.entities import Actor
from trainerbot.core.errors import (
    CapabilityUnavailable,
    FileTooLarge,
    InvalidArgument,
    PermissionDenied,
    UnknownCommand,
)
from trainerbot.core.list_jobs import ListJobsRequest
from trainerbot.core.tenancy import Tenant, TenantScope


@pytest.fixture
def scope() -> TenantScope:
    container = create_container(Settings(storage="memory"))
    container.workspace.override(InMemoryWorkspace({"docs/readme.txt": b"hello"}))
    # A trainer that keeps its job running: the reply must hand it over to be followed.
    container.trainers.override(providers.Object({"local": InMemoryModelTrainer("local")}))
    return container.tenants().scope(Tenant.server(42))


async def test_whoami_is_open_to_everyone_and_says_who_and_where(
    scope: TenantScope, trainer: Actor, member: Actor
) -> None:
    mine = await run_command(scope, member, "whoami")
    theirs = await run_command(scope, trainer, "whoami")

    assert mine.text.startswith("You are Max (id u-member) in server 42: not a trainer here")
    assert "'trainer'" in mine.text  # the role that would make them one
    assert theirs.text.startswith("You are Tess (id u-trainer) in server 42: a trainer here")
    assert mine.text.splitlines()[-1] == theirs.text.splitlines()[-1]
    assert theirs.text.splitlines()[-1].startswith("I answer with ")


async def test_a_trainer_command_is_refused_to_a_member_whatever_the_arguments(
    scope: TenantScope, member: Actor, refuses
) -> None:
    with refuses(PermissionDenied):
        await run_command(scope, member, "train", "data_dir=../../etc positive=maybe")


async def test_arguments_may_be_typed_or_given_by_name_alike(
    scope: TenantScope, trainer: Actor
) -> None:
    typed = await run_command(scope, trainer, "getfile", "docs/readme.txt")
    named = await run_command(scope, trainer, "getfile", {"path": "docs/readme.txt"})

    assert typed == named
    assert typed.text == "📄 docs/readme.txt"
    assert typed.file_kind is Files.ASKED
    assert [file.data for file in typed.files] == [b"hello"]


async def test_named_arguments_follow_the_typed_rules(
    scope: TenantScope, trainer: Actor, refuses
) -> None:
    with refuses(InvalidArgument) as caught:
        await run_command(scope, trainer, "getfile", {"path": "  "})
    assert str(caught.value) == "Missing path. Usage: !getfile <path>"
    with refuses(InvalidArgument) as caught:
        await run_command(scope, trainer, "getfile", {"file": "docs/readme.txt"})
    assert str(caught.value).startswith("getfile takes no file.")
    with refuses(InvalidArgument):
        await run_command(scope, trainer, "select_dataset", {"folder": "x", "positive": "maybe"})


async def test_errors_name_commands_with_the_prefix_given(
    scope: TenantScope, trainer: Actor, refuses
) -> None:
    with refuses(UnknownCommand) as caught:
        await run_command(scope, trainer, "frobnicate", prefix="?")
    assert str(caught.value) == "Unknown command ?frobnicate. Type ?help to see the commands."
    help_reply = await run_command(scope, trainer, "help", prefix="?")
    assert help_reply.preformatted
    assert "?train" in help_reply.text
    assert "!train" not in help_reply.text


async def test_a_program_has_no_voice_channel(scope: TenantScope, trainer: Actor, refuses) -> None:
    with refuses(CapabilityUnavailable):
        await run_command(scope, trainer, "join")


class Unread:
    """An attachment that fails the test if it is read."""

    filename = "big.csv"
    size = 9 * 1024 * 1024

    async def read(self) -> bytes:
        raise AssertionError("read although it is over the limit")


async def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    scope: TenantScope, trainer: Actor, refuses
) -> None:
    train = find("train")
    call = Invocation(
        command=parse_arguments(train.spec, ""),
        scope=scope,
        actor=trainer,
        attachment=Unread(),
        upload_limit=8 * 1024 * 1024,
    )
    with refuses(FileTooLarge) as caught:
        await train.run(call)
    assert str(caught.value) == "big.csv is 9.0 MB; the limit is 8.0 MB."
    assert (await scope.use_cases.list_jobs.execute(_jobs(trainer))).jobs == ()


def _jobs(actor: Actor) -> ListJobsRequest:
    return ListJobsRequest(actor=actor)


async def test_a_training_job_still_running_comes_back_to_be_followed(
    scope: TenantScope, trainer: Actor
) -> None:
    rows = [f"great film {n},positive" for n in range(6)] + [
        f"awful film {n},negative" for n in range(6)
    ]
    reply = await run_command(
        scope, trainer, "train", {"data": "\n".join(["text,label", *rows]), "method": "local"}
    )
    assert isinstance(reply, Reply)
    assert reply.text.startswith("Training job ")
    listed = await scope.use_cases.list_jobs.execute(_jobs(trainer))
    [job] = listed.jobs
    assert not job.status.is_final
    assert reply.job is not None
    assert reply.job.id == job.id


def test_every_command_has_one_spec_and_one_handler() -> None:
    names = [entry.name for entry in CATALOGUE]
    assert len(names) == len(set(names))
    assert all(callable(entry.handler) for entry in CATALOGUE)
    assert all(entry.spec.summary and "!" not in entry.spec.summary for entry in CATALOGUE)
    for entry in CATALOGUE:
        assert all("!" not in param.help for param in entry.spec.params), entry.name
