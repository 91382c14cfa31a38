"""Fixtures for the OpenAI adapter tests: a local fake of the OpenAI API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_openai import FakeOpenAI


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    """A started `FakeOpenAI` for one test; its `base_url` is `http://127.0.0.1:<port>/v1`."""
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
