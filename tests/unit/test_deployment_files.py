"""compose.yaml and the Dockerfile say what the README says: a bot, a training worker and
PostgreSQL, sharing the records' database and the workspace folder (checked without Docker)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from trainerbot.cli import _parser
from trainerbot.config import Settings

REPO = Path(__file__).resolve().parents[2]
SETTINGS = {f"TRAINERBOT_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_a_bot_a_worker_and_postgresql(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"bot", "worker", "postgres"}
    assert services["bot"]["command"] == ["run"]
    assert services["worker"]["command"] == ["worker"]
    assert services["postgres"]["image"].startswith("postgres:")
    # Both trainerbot services run subcommands the CLI has.
    for service in ("bot", "worker"):
        assert (
            _parser().parse_args(services[service]["command"]).command
            == services[service]["command"][0]
        )


def test_the_bot_and_the_worker_share_the_database_and_the_workspace(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    bot, worker, postgres = services["bot"], services["worker"], services["postgres"]
    for service in (bot, worker):
        assert service["image"] == bot["image"]
        assert service["build"] == "."
        assert service["volumes"] == ["workspace:/workspace"]
        assert service["environment"]["TRAINERBOT_WORKSPACE"] == "/workspace"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert set(service["environment"]) <= SETTINGS
    url = bot["environment"]["TRAINERBOT_DATABASE_URL"]
    assert url == worker["environment"]["TRAINERBOT_DATABASE_URL"]
    user, database = (
        postgres["environment"]["POSTGRES_USER"],
        postgres["environment"]["POSTGRES_DB"],
    )
    assert re.fullmatch(
        rf"postgresql://{user}:\$\{{POSTGRES_PASSWORD[^}}]*\}}@postgres:5432/{database}", url
    )
    assert set(compose["volumes"]) == {"workspace", "postgres"}
    # A database URL with PostgreSQL queues training for the worker.
    settings = Settings(database_url="postgresql://trainerbot:pw@postgres:5432/trainerbot")
    assert settings.training_adapter == "queue"


def test_the_image_runs_the_cli_with_the_workspace_where_compose_mounts_it() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["trainerbot"]' in dockerfile
    assert "ENV TRAINERBOT_WORKSPACE=/workspace" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    # Installs what `make run` installs (the embedded model, LoRA training, offline speech).
    assert '".[local,finetune]"' in dockerfile
