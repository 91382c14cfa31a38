"""check_models against the fake OpenAI server: what exists, when it shuts down, and an
unreachable server reported as a value."""

from __future__ import annotations

from fake_openai import FakeOpenAI
from openai import AsyncOpenAI
from openai_adapter_support import (
    API_KEY,
    CHAT_MODEL,
    TUNABLE_MODEL,
    UNREACHABLE_URL,
    assert_names_server,
    assert_one_clear_line,
)

from trainerbot.adapters.openai import ModelCheck, check_models, make_client, service_name
from trainerbot.core.errors import CapabilityUnavailable, ServiceError, TrainerbotError

WANTED = {"chat": CHAT_MODEL, "fine-tuning base": TUNABLE_MODEL, "missing": "gpt-nope"}


async def test_each_wanted_model_is_reported_found_or_not_with_its_shutdown_date(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    checks = await check_models(client, WANTED, service=service_name(openai_server.base_url))

    assert checks == [
        ModelCheck(role="chat", model=CHAT_MODEL, found=True, shutdown_date=None),
        ModelCheck(
            role="fine-tuning base", model=TUNABLE_MODEL, found=True, shutdown_date="2027-01-14"
        ),
        ModelCheck(role="missing", model="gpt-nope", found=False, shutdown_date=None),
    ]


async def test_the_models_are_listed_with_one_request(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    await check_models(client, WANTED, service=service_name(openai_server.base_url))

    assert [(r.method, r.path) for r in openai_server.requests] == [("GET", "/v1/models")]


async def test_unreachable_server_is_returned_as_one_clear_sentence() -> None:
    async with make_client(
        api_key=API_KEY, base_url=UNREACHABLE_URL, timeout=2.0, max_retries=0
    ) as client:
        result = await check_models(client, WANTED, service=service_name(UNREACHABLE_URL))

    assert isinstance(result, ServiceError)
    assert "cannot reach" in str(result)
    assert_names_server(str(result), UNREACHABLE_URL)
    assert_one_clear_line(str(result))


async def test_refused_key_is_returned_not_raised(openai_server: FakeOpenAI) -> None:
    openai_server.require_key = API_KEY
    async with make_client(
        api_key="sk-wrong-secret-0000", base_url=openai_server.base_url, timeout=2.0, max_retries=0
    ) as client:
        result = await check_models(client, WANTED, service=service_name(openai_server.base_url))

    assert isinstance(result, CapabilityUnavailable)
    assert isinstance(result, TrainerbotError)
    assert "TRAINERBOT_OPENAI_API_KEY" in str(result)
    assert_one_clear_line(str(result), secrets=("sk-wrong-secret-0000", API_KEY))
