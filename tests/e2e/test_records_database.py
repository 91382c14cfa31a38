"""The application with its records in a database: the workspace's own SQLite file (the
default), another SQLite file and a real PostgreSQL server (``TRAINERBOT_DATABASE_URL``). What a
tenant records is there after a restart, and only in its tenant."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from trainerbot.adapters import sql
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.adapters.sql import SqlCorrectionStore, SqlInteractionLog
from trainerbot.config import RECORDS_DATABASE, Settings
from trainerbot.container import Container, create_container
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.entities import Actor
from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.tenancy import Tenant

ADA = Actor(id="ada", name="Ada", can_train=True)
A, B = Tenant.server(111), Tenant.server(222)


@pytest.fixture(params=["default", "sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None: no URL, the records in the workspace's own SQLite file."""
    if request.param == "default":
        return None
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'records.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def open_app(
    database_url: str | None, tmp_path: Path
) -> AsyncIterator[Callable[[], Container]]:
    opened: list[Container] = []

    def open_one() -> Container:
        container = create_container(Settings(workspace=tmp_path / "ws", database_url=database_url))
        container.chat_model.override(InMemoryChatModel(lambda messages, model: "Lyon"))
        opened.append(container)
        return container

    yield open_one
    for container in opened:
        await container.database().close()


async def teach(container: Container, tenant: Tenant, right: str) -> None:
    app = container.tenants().scope(tenant).use_cases
    await app.answer_message.execute(AnswerRequest("chat", ADA, "Capital of France?", "m1"))
    await app.record_correction.execute(CorrectionRequest(actor=ADA, message_id="m1", text=right))


async def test_records_survive_a_restart_each_in_its_own_tenant(
    open_app: Callable[[], Container],
) -> None:
    first = open_app()
    await teach(first, A, "Paris")
    await teach(first, B, "Paris, of course")
    await first.database().close()

    again = open_app()
    stores = {t: again.tenants().container(t) for t in (A, B)}

    assert isinstance(stores[A].interactions(), SqlInteractionLog)
    assert isinstance(stores[A].corrections(), SqlCorrectionStore)
    assert [c.corrected for c in await stores[A].corrections().all()] == ["Paris"]
    assert [c.corrected for c in await stores[B].corrections().all()] == ["Paris, of course"]
    found = await stores[A].interactions().find_by_message("m1")
    assert found is not None
    assert found.reply == "Lyon"
    # The workspace without tenants is a tenant of its own in the database: it sees neither.
    assert await again.corrections().all() == []


async def test_every_tenant_shares_the_one_database(open_app: Callable[[], Container]) -> None:
    app = open_app()
    a, b = app.tenants().container(A), app.tenants().container(B)

    assert a.database() is b.database() is app.database()
    assert a.interactions() is not b.interactions()


def test_the_database_url_is_a_secret_and_checked() -> None:
    settings = Settings(database_url="postgresql://ada:s3cret@db.example:5432/records")

    assert settings.records_adapter == "sql"
    driven = sql.async_url(settings.database_url_value).render_as_string(hide_password=False)
    assert driven == "postgresql+asyncpg://ada:s3cret@db.example:5432/records"
    assert "s3cret" not in repr(settings)
    assert Settings(storage="memory", database_url="sqlite:///x").records_adapter == "memory"
    # Without a URL: the workspace's own SQLite file; JSON Lines files only on request.
    default = Settings(workspace=Path("ws"))
    assert default.records_adapter == "sql"
    assert default.database_url_value == f"sqlite:///{Path('ws', RECORDS_DATABASE).absolute()}"
    assert Settings(records="jsonl").records_adapter == "jsonl"
    with pytest.raises(ValueError, match="a database URL starts with postgresql://"):
        Settings(database_url="mysql://ada@db/records")


def test_the_console_keeps_its_records_in_the_database_and_exits(
    tmp_path: Path, database_url: str | None
) -> None:
    """The CLI closes the database's connections (their driver threads would keep it alive)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")},
        "TRAINERBOT_WORKSPACE": str(tmp_path / "ws"),
        **({"TRAINERBOT_DATABASE_URL": database_url} if database_url else {}),
    }
    for text in ("a fine bot", "still fine"):
        result = subprocess.run(
            [sys.executable, "-m", "trainerbot", "console"],
            input=f"!feedback {text}\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "Thanks — feedback" in result.stdout

    async def feedback() -> list[str]:
        container = create_container(Settings(workspace=tmp_path / "ws", database_url=database_url))
        try:
            scope = container.tenants().container(Tenant.console())
            return [f.text for f in await scope.feedback().all()]
        finally:
            await container.database().close()

    assert asyncio.run(feedback()) == ["a fine bot", "still fine"]


def test_doctor_names_the_database_without_its_password(tmp_path: Path) -> None:
    from trainerbot import cli

    report = "\n".join(
        cli.doctor(
            Settings(workspace=tmp_path, database_url="postgresql://ada:s3cret@db.example/records")
        )
    )

    assert "records              postgresql+asyncpg://ada:***@db.example/records" in report
    assert "s3cret" not in report


def test_doctor_names_the_workspaces_own_sqlite_file_by_default(tmp_path: Path) -> None:
    from trainerbot import cli

    report = cli.doctor(Settings(workspace=tmp_path / "ws"))

    [line] = [line for line in report if line.strip().startswith("records ")]
    assert line.endswith(f"sqlite+aiosqlite:///{tmp_path / 'ws' / RECORDS_DATABASE}"), line
