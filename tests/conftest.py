"""Shared test configuration: no test reads the developer's environment or .env."""

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    for name in list(os.environ):
        if name.startswith("TRAINERBOT_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(name)
    # A .env in the working directory must not leak into tests either.
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
