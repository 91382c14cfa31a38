"""`trainerbot migrate`: a workspace written by the JSON Lines stores (the workspace without
tenants and two servers' tenants) is imported into SQLite and into a real PostgreSQL server;
every record is there after, each in its own tenant, and a second run changes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from trainerbot.adapters.memory import InMemoryChatModel, InMemoryModelTrainer
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_container
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor
from trainerbot.core.link_reply import LinkReplyRequest
from trainerbot.core.manage_settings import SettingsRequest
from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.record_feedback import FeedbackRequest
from trainerbot.core.tenancy import Tenant
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.use_model import UseModelRequest

DATA = "text,label\n" + "\n".join(
    [f"great film {n},positive" for n in range(6)] + [f"awful film {n},negative" for n in range(6)]
)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


def app(workspace: Path, database_url: str | None = None) -> Container:
    container = create_container(Settings(workspace=workspace, database_url=database_url))
    container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
    container.trainers.override(
        providers.Object({"local": InMemoryModelTrainer("local", immediate=True)})
    )
    return container


async def write_everything(container: Container, persona: str) -> None:
    """Every kind of record, through the use cases (by a member of its own: the rate limit is
    per member, wherever they speak)."""
    ada = Actor(id=persona, name="Ada", can_train=True)
    uc = container.use_cases()
    for number in range(3):
        answered = await uc.answer_message.execute(
            AnswerRequest("chat", ada, f"Capital of France, take {number}?", f"m{number}")
        )
        await uc.link_reply.execute(
            LinkReplyRequest(interaction_id=answered.interaction.id, message_id=f"r{number}")
        )
    await uc.record_correction.execute(CorrectionRequest(actor=ada, message_id="m1", text="Paris"))
    await uc.record_feedback.execute(FeedbackRequest(actor=ada, text=f"{persona}: fine"))
    trained = await uc.train_model.execute(TrainRequest(actor=ada, data=DATA, method="local"))
    assert trained.job.model is not None
    await uc.use_model.execute(UseModelRequest(actor=ada, model=trained.job.model))
    await uc.manage_settings.execute(SettingsRequest(actor=ada, persona=persona))


async def snapshot(container: Container) -> dict[str, Any]:
    """What the stores show."""
    interactions = container.interactions()
    return {
        "recent": await interactions.recent("chat", 10),
        "found": [
            await interactions.find_by_message(f"{kind}{n}") for kind in "mr" for n in range(3)
        ],
        "corrections": await container.corrections().all(),
        "feedback": await container.feedback().all(),
        "jobs": await container.jobs().all(),
        "models": await container.models().models(),
        "active": await container.models().active(),
        "settings": await container.tenant_settings().get(),
    }


def migrate(workspace: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    env |= {"TRAINERBOT_WORKSPACE": str(workspace), "TRAINERBOT_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_every_record_is_there_after_and_twice_is_safe(
    tmp_path: Path, database_url: str
) -> None:
    workspace = tmp_path / "ws"
    on_disk = app(workspace)
    await write_everything(on_disk, "the workspace")
    tenants = on_disk.tenants()
    servers = [tenants.container(Tenant.server(key)) for key in (111, 222)]
    for server, persona in zip(servers, ("server one", "server two"), strict=True):
        await write_everything(server, persona)
    before = [await snapshot(c) for c in (on_disk, *servers)]
    assert all(shown["corrections"] and shown["active"] for shown in before)

    for _ in range(2):
        result = migrate(workspace, database_url)
        assert result.returncode == 0, result.stderr
        [line] = result.stdout.splitlines()
        assert line.startswith("Imported ")
        assert "from 3 workspace(s)" in line

        in_db = app(workspace, database_url)
        try:
            db_tenants = in_db.tenants()
            after = [
                await snapshot(c)
                for c in (
                    in_db,
                    *(db_tenants.container(Tenant.server(key)) for key in (111, 222)),
                )
            ]
        finally:
            await close_container(in_db)
        assert after == before


def test_migrate_without_a_database_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    result = subprocess.run(
        [sys.executable, "-m", "trainerbot", "migrate"],
        capture_output=True,
        text=True,
        env=env | {"TRAINERBOT_WORKSPACE": str(tmp_path)},
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert "TRAINERBOT_DATABASE_URL" in line
