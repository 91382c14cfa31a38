"""OpenAIChatModel against the fake OpenAI server: the request it sends, and every failure as one
clear sentence."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Recorded
from openai_adapter_support import (
    API_KEY,
    CHAT_MODEL,
    UNREACHABLE_URL,
    assert_names_server,
    assert_one_clear_line,
)

from trainerbot.adapters.openai import OpenAIChatModel, make_client, service_name
from trainerbot.adapters.openai.client import KEYLESS
from trainerbot.core.entities import ChatMessage, Role
from trainerbot.core.errors import (
    CapabilityUnavailable,
    InvalidInput,
    ServiceError,
    TrainerbotError,
    UnknownModel,
)

CONVERSATION = (
    ChatMessage(Role.SYSTEM, "You are trainerbot."),
    ChatMessage(Role.USER, "What is the capital of France?"),
    ChatMessage(Role.ASSISTANT, "Paris."),
    ChatMessage(Role.USER, "And of Italy?"),
)
WRONG_KEY = "sk-wrong-secret-1a2b3c4d5e"


@contextlib.asynccontextmanager
async def chat_model(
    server: FakeOpenAI,
    *,
    api_key: str | None = API_KEY,
    base_url: str | None = None,
    request_timeout: float = 2.0,
    max_retries: int = 0,
    **options: Any,
) -> AsyncIterator[OpenAIChatModel]:
    """An OpenAIChatModel over its own client (closed afterwards), as the container builds it."""
    url = base_url or server.base_url
    async with make_client(
        api_key=api_key, base_url=url, timeout=request_timeout, max_retries=max_retries
    ) as client:
        yield OpenAIChatModel(client, service=service_name(url), **options)


def chat_requests(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/chat/completions", "POST")


# --- the request --------------------------------------------------------------------------------


async def test_request_carries_the_model_and_the_whole_conversation_in_order(
    openai_server: FakeOpenAI,
) -> None:
    async with chat_model(openai_server) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert request.json["model"] == CHAT_MODEL
    assert request.json["messages"] == [
        {"role": "system", "content": "You are trainerbot."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Italy?"},
    ]


async def test_reply_is_the_servers_answer(openai_server: FakeOpenAI) -> None:
    openai_server.reply = lambda body: "Rome."
    async with chat_model(openai_server) as sut:
        reply = await sut.complete(CONVERSATION, model=CHAT_MODEL)

    assert reply == "Rome."


async def test_temperature_is_left_out_when_not_configured(openai_server: FakeOpenAI) -> None:
    async with chat_model(openai_server) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert "temperature" not in request.json


async def test_temperature_zero_is_sent_when_configured(openai_server: FakeOpenAI) -> None:
    async with chat_model(openai_server, temperature=0.0) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert request.json["temperature"] == 0.0


async def test_answer_limit_is_sent_as_max_completion_tokens(openai_server: FakeOpenAI) -> None:
    async with chat_model(openai_server, max_tokens=64) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert request.json["max_completion_tokens"] == 64
    assert "max_tokens" not in request.json


async def test_answer_limit_is_sent_as_max_tokens_to_legacy_servers(
    openai_server: FakeOpenAI,
) -> None:
    async with chat_model(openai_server, max_tokens=64, legacy_max_tokens=True) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert request.json["max_tokens"] == 64
    assert "max_completion_tokens" not in request.json


async def test_no_answer_limit_is_sent_when_not_configured(openai_server: FakeOpenAI) -> None:
    async with chat_model(openai_server) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert "max_tokens" not in request.json
    assert "max_completion_tokens" not in request.json


async def test_authorization_header_carries_the_key(openai_server: FakeOpenAI) -> None:
    openai_server.require_key = API_KEY
    async with chat_model(openai_server) as sut:
        await sut.complete(CONVERSATION, model=CHAT_MODEL)

    [request] = chat_requests(openai_server)
    assert request.header("Authorization") == f"Bearer {API_KEY}"


async def test_keyless_local_server_is_answered_with_the_placeholder_key(
    openai_server: FakeOpenAI,
) -> None:
    async with chat_model(openai_server, api_key=None) as sut:
        reply = await sut.complete(CONVERSATION, model=CHAT_MODEL)

    assert reply == "reply to: And of Italy?"
    [request] = chat_requests(openai_server)
    assert request.header("Authorization") == f"Bearer {KEYLESS}"


# --- faults that retries absorb -----------------------------------------------------------------


async def test_rate_limit_fewer_times_than_the_retries_is_retried_until_answered(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject("rate_limit", path="/chat/completions", times=2, retry_after="0.05")
    async with chat_model(openai_server, max_retries=3) as sut:
        reply = await sut.complete(CONVERSATION, model=CHAT_MODEL)

    assert reply == "reply to: And of Italy?"
    assert len(chat_requests(openai_server)) == 3


async def test_server_error_fewer_times_than_the_retries_is_retried_until_answered(
    openai_server: FakeOpenAI,
) -> None:
    # No Retry-After on a 500: the SDK backs off about half a second before its one retry.
    openai_server.inject("server_error", path="/chat/completions", times=1)
    async with chat_model(openai_server, max_retries=1) as sut:
        reply = await sut.complete(CONVERSATION, model=CHAT_MODEL)

    assert reply == "reply to: And of Italy?"
    assert len(chat_requests(openai_server)) == 2


# --- faults reported as one sentence ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "options", "client_options", "phrase", "requests_seen"),
    [
        pytest.param(
            "rate_limit",
            {"times": 3, "retry_after": "0.05"},
            {"max_retries": 2},
            "rate-limiting",
            3,
            id="429-past-the-retries",
        ),
        pytest.param(
            "server_error",
            {"times": 2},
            {"max_retries": 1},
            "server error",
            2,
            id="500-past-the-retries",
        ),
        pytest.param(
            "slow",
            {"delay": 1.0},
            {"request_timeout": 0.3},
            "did not answer in time",
            1,
            id="slower-than-the-timeout",
        ),
        pytest.param("drop", {}, {}, "cannot reach", 1, id="dropped-connection"),
        pytest.param("malformed", {}, {}, "could not read", 1, id="malformed-body"),
    ],
)
async def test_a_fault_past_the_retries_is_one_sentence_naming_the_server(
    openai_server: FakeOpenAI,
    fault: str,
    options: dict[str, Any],
    client_options: dict[str, Any],
    phrase: str,
    requests_seen: int,
) -> None:
    openai_server.inject(fault, path="/chat/completions", **options)
    async with chat_model(openai_server, **client_options) as sut:
        with pytest.raises(ServiceError) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert phrase in message
    assert_names_server(message, openai_server.base_url)
    assert_one_clear_line(message)
    assert len(chat_requests(openai_server)) == requests_seen


async def test_unknown_model_is_unknown_model_naming_the_model(openai_server: FakeOpenAI) -> None:
    async with chat_model(openai_server) as sut:
        with pytest.raises(UnknownModel) as caught:
            await sut.complete(CONVERSATION, model="gpt-nope")

    message = str(caught.value)
    assert "'gpt-nope'" in message
    assert_names_server(message, openai_server.base_url)
    assert_one_clear_line(message)


async def test_wrong_key_is_capability_unavailable_naming_the_setting_not_the_key(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.require_key = API_KEY
    async with chat_model(openai_server, api_key=WRONG_KEY) as sut:
        with pytest.raises(CapabilityUnavailable) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert "TRAINERBOT_OPENAI_API_KEY" in message
    assert_one_clear_line(message, secrets=(WRONG_KEY, API_KEY))


async def test_missing_key_for_a_server_that_needs_one_names_the_setting(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.require_key = API_KEY
    async with chat_model(openai_server, api_key=None) as sut:
        with pytest.raises(CapabilityUnavailable) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert "TRAINERBOT_OPENAI_API_KEY" in message
    assert_names_server(message, openai_server.base_url)
    assert_one_clear_line(message, secrets=(API_KEY, KEYLESS))


async def test_unreachable_base_url_is_a_service_error_cannot_reach(
    openai_server: FakeOpenAI,
) -> None:
    async with chat_model(openai_server, base_url=UNREACHABLE_URL) as sut:
        with pytest.raises(ServiceError) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert "cannot reach" in message
    assert "TRAINERBOT_OPENAI_BASE_URL" in message
    assert_names_server(message, UNREACHABLE_URL)
    assert_one_clear_line(message)


async def test_rejected_request_shows_the_servers_reason_with_keys_masked(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject(
        "server_error",
        path="/chat/completions",
        status=400,
        message=f"Invalid 'messages[3]': too long for\nkey {API_KEY}.",
    )
    async with chat_model(openai_server) as sut:
        with pytest.raises(InvalidInput) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert "rejected the request: Invalid 'messages[3]': too long for key ***." in message
    assert_one_clear_line(message)


# --- secrets ------------------------------------------------------------------------------------


async def test_credentials_in_the_base_url_are_not_shown_when_it_is_unreachable(
    openai_server: FakeOpenAI,
) -> None:
    url = "http://trainer:hunter2-password@127.0.0.1:9/v1"
    async with chat_model(openai_server, base_url=url) as sut:
        with pytest.raises(ServiceError) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert_names_server(message, UNREACHABLE_URL)
    assert_one_clear_line(message, secrets=("hunter2-password", "trainer:", API_KEY))


async def test_secrets_appear_in_no_error_and_no_log_line_for_any_fault(
    openai_server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    openai_server.require_key = API_KEY
    # (fault to inject or None, client options, model)
    scenarios: list[tuple[tuple[str, dict[str, Any]] | None, dict[str, Any], str]] = [
        (("rate_limit", {"times": 2, "retry_after": "0.05"}), {"max_retries": 1}, CHAT_MODEL),
        (("server_error", {}), {}, CHAT_MODEL),
        (("server_error", {"status": 400, "message": f"bad key {API_KEY}"}), {}, CHAT_MODEL),
        (("slow", {"delay": 1.0}), {"request_timeout": 0.3}, CHAT_MODEL),
        (("drop", {}), {}, CHAT_MODEL),
        (("malformed", {}), {}, CHAT_MODEL),
        (None, {}, "gpt-nope"),
        (None, {"api_key": WRONG_KEY}, CHAT_MODEL),
        (None, {"base_url": UNREACHABLE_URL}, CHAT_MODEL),
    ]
    messages: list[str] = []
    for fault, options, model in scenarios:
        if fault is not None:
            name, fault_options = fault
            openai_server.inject(name, path="/chat/completions", **fault_options)
        async with chat_model(openai_server, **options) as sut:
            with pytest.raises(TrainerbotError) as caught:
                await sut.complete(CONVERSATION, model=model)
        messages.append(str(caught.value))

    assert len(messages) == len(scenarios)
    for message in messages:
        assert_one_clear_line(message, secrets=(API_KEY, WRONG_KEY))
    logged = [record.getMessage() for record in caplog.records]
    assert logged, "the failures were logged"
    leaks = [line for line in logged if API_KEY in line or WRONG_KEY in line]
    assert not leaks, f"a secret was logged: {leaks}"


# --- bugs ---------------------------------------------------------------------------------------


async def test_base_url_missing_its_api_path_points_at_the_base_url_setting(
    openai_server: FakeOpenAI,
) -> None:
    without_v1 = openai_server.base_url.removesuffix("/v1")
    async with chat_model(openai_server, base_url=without_v1) as sut:
        with pytest.raises(TrainerbotError) as caught:
            await sut.complete(CONVERSATION, model=CHAT_MODEL)

    message = str(caught.value)
    assert "TRAINERBOT_OPENAI_BASE_URL" in message
    assert "no model" not in message


# --- streaming ----------------------------------------------------------------------------------


async def test_a_streamed_answer_comes_token_by_token_and_joins_into_the_complete_one(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.reply = lambda body: "Rome is the capital of Italy.\n\nIt is  old. "
    async with chat_model(openai_server, max_tokens=50, legacy_max_tokens=True) as sut:
        pieces = [piece async for piece in sut.stream(CONVERSATION, model=CHAT_MODEL)]
        whole = await sut.complete(CONVERSATION, model=CHAT_MODEL)

    assert pieces == [
        "Rome",
        " is",
        " the",
        " capital",
        " of",
        " Italy.",
        "\n\nIt",
        " is",
        "  old.",
        " ",
    ]
    assert "".join(pieces) == whole
    streamed, completed = (r.json for r in chat_requests(openai_server))
    assert streamed.pop("stream") is True
    assert streamed == completed  # the same request, streamed


async def test_a_streamed_answer_cut_by_the_token_limit_is_the_same_as_the_complete_one(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.reply = lambda body: "one two three four five six"
    async with chat_model(openai_server, max_tokens=4) as sut:
        pieces = [piece async for piece in sut.stream(CONVERSATION, model=CHAT_MODEL)]
        assert "".join(pieces) == await sut.complete(CONVERSATION, model=CHAT_MODEL)
    assert "".join(pieces) == "one two three four"


@pytest.mark.parametrize(
    ("fault", "options", "error"),
    [
        ("server_error", {}, ServiceError),
        ("rate_limit", {}, ServiceError),
        ("permission_denied", {"message": "no"}, CapabilityUnavailable),
        ("drop", {}, ServiceError),
    ],
)
async def test_a_failure_before_the_first_token_is_mapped_as_for_complete(
    openai_server: FakeOpenAI, fault: str, options: dict[str, Any], error: type[TrainerbotError]
) -> None:
    openai_server.inject(fault, path="/chat/completions", **options)
    async with chat_model(openai_server) as sut:
        with pytest.raises(error) as caught:
            async for _ in sut.stream(CONVERSATION, model=CHAT_MODEL):
                pass
    assert type(caught.value) is error
    assert_one_clear_line(str(caught.value))


async def test_an_unknown_model_is_an_unknown_model_when_streaming_too(
    openai_server: FakeOpenAI,
) -> None:
    async with chat_model(openai_server) as sut:
        with pytest.raises(UnknownModel):
            async for _ in sut.stream(CONVERSATION, model="no-such-model"):
                pass


async def test_a_connection_lost_mid_answer_is_a_service_error_after_the_tokens_so_far(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.reply = lambda body: "one two three four five six"
    openai_server.stream_drop_after = 3
    shown: list[str] = []

    async def read(sut: OpenAIChatModel) -> None:
        async for piece in sut.stream(CONVERSATION, model=CHAT_MODEL):
            shown.append(piece)

    async with chat_model(openai_server) as sut:
        with pytest.raises(ServiceError) as caught:
            await read(sut)

    assert "".join(shown) == "one two three"
    assert_one_clear_line(str(caught.value))


async def test_a_reader_that_stops_early_closes_the_response(openai_server: FakeOpenAI) -> None:
    openai_server.reply = lambda body: "word " * 200
    openai_server.tokens_per_second = 1000
    async with chat_model(openai_server) as sut:
        stream = sut.stream(CONVERSATION, model=CHAT_MODEL)
        assert await anext(stream) == "word"
        await stream.aclose()  # type: ignore[attr-defined]
        # The client is free for the next request at once.
        assert await sut.complete(CONVERSATION, model=CHAT_MODEL)
