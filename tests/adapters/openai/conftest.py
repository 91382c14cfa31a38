"""Fixtures for the OpenAI adapter tests: a local fake of the OpenAI API on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_openai import FakeOpenAI
from openai import AsyncOpenAI
from openai_adapter_support import API_KEY

from trainerbot.adapters.openai import make_client


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAI]:
    """A started `FakeOpenAI` for one test; its `base_url` is `http://127.0.0.1:<port>/v1`."""
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(openai_server: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    """The project's own client, pointed at the fake: quick timeout, no retries unless a test asks."""
    async with make_client(
        api_key=API_KEY, base_url=openai_server.base_url, timeout=2.0, max_retries=0
    ) as client:
        yield client
