"""Correction.example: the training example centres on the corrected question."""

from __future__ import annotations

from dataclasses import replace

import pytest
from records_support import correction

from trainerbot.core.entities import (
    CONTEXT_BUDGET_CHARS,
    ChatMessage,
    Example,
    Role,
    refers_back,
)


def user(text: str) -> ChatMessage:
    return ChatMessage(Role.USER, text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(Role.ASSISTANT, text)


# A long conversation before the correction: some 2,400 characters of earlier turns.
LONG_HISTORY = tuple(
    message
    for n in range(1, 7)
    for message in (
        user(f"Tell me about topic {n}. " + "More details please. " * 10),
        assistant(f"Topic {n} is interesting. " + "Here is a long answer. " * 10),
    )
)
WEATHER = (user("What is the weather in Lyon today?"), assistant("Sunny, 24 degrees."))


def test_a_question_that_stands_on_its_own_is_the_whole_prompt() -> None:
    sut = replace(correction(1), prompt="What day do we deploy?", history=LONG_HISTORY)

    example = sut.example()

    assert example == Example(
        prompt=(user("What day do we deploy?"),),
        completion="right 1",
        rejected="wrong 1",
        origin="correction cor-1",
    )
    assert example.from_correction
    assert sut.history == LONG_HISTORY, "the correction itself keeps the whole conversation"


def test_a_question_that_refers_back_keeps_only_the_last_exchange() -> None:
    sut = replace(correction(1), prompt="and tomorrow?", history=(*LONG_HISTORY, *WEATHER))

    example = sut.example()

    assert example.prompt == (*WEATHER, user("and tomorrow?"))
    assert (example.completion, example.rejected) == ("right 1", "wrong 1")


def test_the_last_exchange_is_the_last_user_turn_and_what_answered_it() -> None:
    answer_in_two = (user("Who wrote it?"), assistant("Hugo."), assistant("In 1862."))
    sut = replace(correction(1), prompt="is that right", history=(*LONG_HISTORY, *answer_in_two))

    assert sut.example().prompt == (*answer_in_two, user("is that right"))


def test_earlier_turns_never_pass_the_character_budget() -> None:
    long_answer = assistant("Sunny. " + "Details. " * 200)
    sut = replace(correction(1), prompt="why?", history=(user("Weather in Lyon?"), long_answer))

    *earlier, question = sut.example().prompt

    assert question == user("why?")
    assert [m.role for m in earlier] == [Role.ASSISTANT]
    assert len(earlier[0].content) == CONTEXT_BUDGET_CHARS
    assert earlier[0].content.startswith("Sunny. Details.")
    assert earlier[0].content.endswith("…")


def test_the_question_before_an_answer_is_left_out_when_both_do_not_fit() -> None:
    answer = assistant("x" * (CONTEXT_BUDGET_CHARS - 10))
    sut = replace(correction(1), prompt="why?", history=(user("y" * 20), answer))

    assert sut.example().prompt == (answer, user("why?"))


def test_a_system_instruction_in_the_history_is_kept() -> None:
    instruction = ChatMessage(Role.SYSTEM, "Classify the text. Answer with exactly one of: a, b.")
    sut = replace(correction(1), prompt="great film", history=(instruction, *WEATHER))

    assert sut.example().prompt == (instruction, user("great film"))


def test_without_history_the_question_is_the_prompt() -> None:
    sut = replace(correction(1), prompt="why?", history=())

    assert sut.example().prompt == (user("why?"),)


@pytest.mark.parametrize(
    "question",
    [
        "and tomorrow?",
        "And what about Paris?",
        "what about it",
        "why?",
        "Why not?",
        "Really?",
        "is that right",
        "Who wrote them?",
        "how come?",
        "are you sure?",
        "tell me more",
        "What’s that?",
    ],
)
def test_short_questions_pointing_back_refer_back(question: str) -> None:
    assert refers_back(question)


@pytest.mark.parametrize(
    "question",
    [
        "What day do we deploy?",
        "Who is our club's treasurer?",
        "Why is the sky blue?",
        "What is the capital of Australia?",
        "Is it true that the office closes at five on every Friday of the year?",
        "",
        "   ",
    ],
)
def test_questions_that_stand_on_their_own_do_not_refer_back(question: str) -> None:
    assert not refers_back(question)
