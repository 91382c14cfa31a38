"""The ChatModel contract, run against the in-memory fake, the OpenAI adapter (the real SDK
against the local fake OpenAI server) and the embedded llama.cpp model (the real bundled
SmolLM2 weights: an ``engine`` test).

Each implementation is given as a ``Case``: the chat model, the model id it answers, and a way
to make it fail the way it fails in real life (a service error, a prompt too long).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.core.entities import ChatMessage, Role
from trainerbot.core.errors import ServiceError, TrainerbotError
from trainerbot.ports import ChatModel

# The fake OpenAI server lives with the OpenAI adapter's tests.
sys.path.insert(0, str(Path(__file__).parents[1] / "adapters" / "openai"))
from fake_openai import FakeOpenAI

CONVERSATION = (
    ChatMessage(Role.SYSTEM, "You are a helpful assistant. Answer in two sentences."),
    ChatMessage(Role.USER, "What is the capital of France, and what river runs through it?"),
)
LONG_ANSWER = "Paris is the capital of France.\n\nThe Seine runs through it, from east to west."


@dataclass
class Case:
    chat: ChatModel
    model: str
    # Make the next calls fail; gives the conversation that then fails.
    break_it: Callable[[], Sequence[ChatMessage]]


async def _memory() -> AsyncIterator[Case]:
    chat = InMemoryChatModel(lambda messages, model: LONG_ANSWER)

    def break_it() -> Sequence[ChatMessage]:
        chat.fail_with = ServiceError("The chat model is down.")
        return CONVERSATION

    yield Case(chat, "memory-model", break_it)


async def _openai() -> AsyncIterator[Case]:
    from trainerbot.adapters.openai import OpenAIChatModel, make_client, service_name

    async with FakeOpenAI() as server:
        server.reply = lambda body: LONG_ANSWER

        def break_it() -> Sequence[ChatMessage]:
            server.inject("server_error", path="/chat/completions", times=100)
            return CONVERSATION

        async with make_client(
            api_key="sk-test", base_url=server.base_url, timeout=5.0, max_retries=0
        ) as client:
            chat = OpenAIChatModel(client, service=service_name(server.base_url), max_tokens=64)
            yield Case(chat, "gpt-4.1-mini-2025-04-14", break_it)


async def _llama() -> AsyncIterator[Case]:
    from trainerbot.adapters.llama import LlamaCppChatModel

    chat = LlamaCppChatModel(context_tokens=512, max_tokens=48, temperature=0.0)

    def break_it() -> Sequence[ChatMessage]:
        return (ChatMessage(Role.USER, "word " * 1_000),)  # longer than the context

    yield Case(chat, "smollm2-135m-instruct", break_it)
    chat.close()


IMPLEMENTATIONS: dict[str, Callable[[], AsyncIterator[Case]]] = {
    "memory": _memory,
    "openai": _openai,
    "llama": _llama,
}


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("openai"),
        pytest.param("llama", marks=[pytest.mark.engine, pytest.mark.slow]),
    ]
)
async def case(request: pytest.FixtureRequest) -> AsyncIterator[Case]:
    async for made in IMPLEMENTATIONS[request.param]():
        yield made


async def read(pieces: AsyncIterator[str]) -> list[str]:
    return [piece async for piece in pieces]


async def raised(call: Callable[[], Awaitable[object]]) -> BaseException:
    try:
        await call()
    except BaseException as error:  # what was raised is the check
        return error
    pytest.fail("nothing was raised")


def test_it_implements_the_port(case: Case) -> None:
    assert isinstance(case.chat, ChatModel)


async def test_the_streamed_pieces_join_into_the_complete_answer(case: Case) -> None:
    pieces = await read(case.chat.stream(CONVERSATION, model=case.model))
    whole = await case.chat.complete(CONVERSATION, model=case.model)

    assert whole.strip()
    assert "".join(pieces) == whole
    assert all(isinstance(piece, str) and piece for piece in pieces)


async def test_a_reader_that_stops_early_leaves_the_model_ready_for_the_next_answer(
    case: Case,
) -> None:
    pieces = case.chat.stream(CONVERSATION, model=case.model)
    first = await anext(pieces)
    await pieces.aclose()  # type: ignore[attr-defined]

    whole = await case.chat.complete(CONVERSATION, model=case.model)
    assert whole.startswith(first)


async def test_a_failure_is_a_trainerbot_error_the_same_from_complete_and_stream(
    case: Case,
) -> None:
    failing = case.break_it()

    from_complete = await raised(lambda: case.chat.complete(failing, model=case.model))
    from_stream = await raised(lambda: read(case.chat.stream(failing, model=case.model)))

    assert isinstance(from_complete, TrainerbotError)
    assert type(from_stream) is type(from_complete)
    assert str(from_stream).strip()
    assert len(str(from_stream).splitlines()) == 1


async def test_no_answer_is_unwanted_by_a_model_that_was_taught_none(case: Case) -> None:
    assert await case.chat.unwanted(CONVERSATION, model=case.model) == frozenset()
