"""In the console, each OpenAI misconfiguration is one sentence saying what to fix."""

from typing import Any

import pytest
from fake_openai import FakeOpenAI

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import create_container


def console(**settings: Any) -> Console:
    container = create_container(Settings(storage="memory", openai_max_retries=0, **settings))
    return Console(container.use_cases())


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        pytest.param(
            {"chat_backend": "openai"},
            "error: OpenAI is chosen but not configured: set TRAINERBOT_OPENAI_API_KEY",
            id="missing-key",
        ),
        pytest.param(
            {"openai_base_url": "http://127.0.0.1:9/v1"},
            "error: I cannot reach the model server at 127.0.0.1:9; check TRAINERBOT_OPENAI_BASE_URL",
            id="unreachable-base-url",
        ),
    ],
)
async def test_a_misconfigured_server_is_one_sentence_in_the_console(
    settings: dict[str, Any], expected: str
) -> None:
    reply = await console(**settings).handle("hello")
    assert reply.startswith(expected)
    assert "\n" not in reply


async def test_an_unknown_model_is_named_in_the_console(openai_server: FakeOpenAI) -> None:
    reply = await console(openai_base_url=openai_server.base_url, chat_model="gpt-nope").handle(
        "hi"
    )
    assert reply == (
        f"error: The model server at 127.0.0.1:{openai_server.port} has no model 'gpt-nope'; "
        "check the model name."
    )


async def test_a_base_url_without_its_api_path_is_named_in_the_console(
    openai_server: FakeOpenAI,
) -> None:
    base = openai_server.base_url.removesuffix("/v1")
    reply = await console(openai_base_url=base).handle("hi")
    assert reply.startswith(
        f"error: The model server at 127.0.0.1:{openai_server.port} has no such endpoint"
    )
    assert "ends in /v1" in reply
