"""AnswerMessage: the active model answers with the conversation so far; every answer is logged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryInteractionLog,
    InMemoryModelRegistry,
    InMemorySpeechToText,
    InMemoryWorkspace,
)
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest, AnswerStream
from trainerbot.core.answer_voice import AnswerVoiceMessage, VoiceMessageRequest
from trainerbot.core.entities import Actor, AudioClip, ChatMessage, Interaction, Role, Source
from trainerbot.core.errors import (
    EmptyMessage,
    InvalidArgument,
    MessageTooLong,
    RateLimited,
    ServiceError,
)
from trainerbot.core.limits import Limits
from trainerbot.core.rate_limit import RateLimit
from trainerbot.core.transcribe_voice import TranscribeVoice
from trainerbot.core.unwanted import WITHHELD_REPLY

SYSTEM = "You are a helpful bot."
DEFAULT = "default-model"


def make_sut(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    *,
    system_prompt: str = SYSTEM,
    limits: Limits | None = None,
    rate_limit: RateLimit | None = None,
) -> AnswerMessage:
    return AnswerMessage(
        chat_model=chat_model,
        interactions=interactions,
        models=models,
        default_model=DEFAULT,
        system_prompt=system_prompt,
        limits=limits or Limits(),
        rate_limit=rate_limit,
    )


@pytest.fixture
def sut(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
) -> AnswerMessage:
    return make_sut(chat_model, interactions, models)


def request(author: Actor, text: str = "hello", **changes: Any) -> AnswerRequest:
    base = AnswerRequest(conversation_id="chan-1", author=author, text=text, message_id="m-1")
    return replace(base, **changes)


def past(conversation_id: str, prompt: str, reply: str, number: int) -> Interaction:
    return Interaction(
        id=f"int-old-{number}",
        conversation_id=conversation_id,
        author_id="u-someone",
        message_id=f"m-old-{number}",
        prompt=prompt,
        reply=reply,
        model=DEFAULT,
    )


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \n"])
async def test_refuses_empty_or_blank_text_and_logs_nothing(
    sut: AnswerMessage,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    member: Actor,
    refuses,
    text: str,
) -> None:
    with refuses(EmptyMessage):
        await sut.execute(request(member, text))

    assert interactions.interactions == []
    assert chat_model.calls == []


async def test_refuses_text_over_the_limit_and_logs_nothing(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    sut = make_sut(chat_model, interactions, models, limits=Limits(max_message_chars=10))

    with refuses(MessageTooLong) as caught:
        await sut.execute(request(member, "x" * 11))

    assert "11" in str(caught.value)
    assert "10" in str(caught.value)
    assert interactions.interactions == []
    assert chat_model.calls == []


async def test_accepts_text_of_exactly_the_limit_counted_without_surrounding_spaces(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(chat_model, interactions, models, limits=Limits(max_message_chars=10))

    result = await sut.execute(request(member, "   " + "x" * 10 + "  \n"))

    assert result.interaction.prompt == "x" * 10
    assert [i.prompt for i in interactions.interactions] == ["x" * 10]


@pytest.mark.parametrize("answer", ["", "   \n "])
async def test_an_empty_answer_from_the_model_is_a_service_error_and_logs_nothing(
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
    answer: str,
) -> None:
    chat_model = InMemoryChatModel(lambda messages, model: answer)
    sut = make_sut(chat_model, interactions, models)

    with refuses(ServiceError):
        await sut.execute(request(member))

    assert len(chat_model.calls) == 1
    assert interactions.interactions == []


async def test_a_failing_model_logs_nothing(
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    chat_model = InMemoryChatModel(fail_with=ServiceError("The chat model is down."))
    sut = make_sut(chat_model, interactions, models)

    with refuses(ServiceError):
        await sut.execute(request(member))

    assert interactions.interactions == []


# --- which model answers ---------------------------------------------------------------------


async def test_the_configured_default_model_answers_when_none_was_chosen(
    sut: AnswerMessage, chat_model: InMemoryChatModel, member: Actor
) -> None:
    result = await sut.execute(request(member))

    assert [call.model for call in chat_model.calls] == [DEFAULT]
    assert result.interaction.model == DEFAULT


async def test_the_active_model_answers_once_one_was_chosen(
    sut: AnswerMessage,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    await models.activate("fewshot:job-1")

    result = await sut.execute(request(member))

    assert [call.model for call in chat_model.calls] == ["fewshot:job-1"]
    assert interactions.interactions[0].model == "fewshot:job-1"
    assert result.interaction.model == "fewshot:job-1"


# --- what the model sees ---------------------------------------------------------------------


async def test_the_model_sees_the_system_prompt_then_the_message(
    sut: AnswerMessage, chat_model: InMemoryChatModel, member: Actor
) -> None:
    await sut.execute(request(member, "  What is 2+2?  "))

    assert chat_model.calls[0].messages == (
        ChatMessage(Role.SYSTEM, SYSTEM),
        ChatMessage(Role.USER, "What is 2+2?"),
    )


async def test_no_system_message_is_sent_when_the_system_prompt_is_empty(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(chat_model, interactions, models, system_prompt="")

    await sut.execute(request(member, "hi"))

    assert chat_model.calls[0].messages == (ChatMessage(Role.USER, "hi"),)


async def test_the_model_sees_earlier_exchanges_of_this_conversation_oldest_first(
    sut: AnswerMessage,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    member: Actor,
) -> None:
    await interactions.append(past("chan-1", "q1", "a1", 1))
    await interactions.append(past("chan-1", "q2", "a2", 2))

    await sut.execute(request(member, "q3"))

    assert chat_model.calls[0].messages == (
        ChatMessage(Role.SYSTEM, SYSTEM),
        ChatMessage(Role.USER, "q1"),
        ChatMessage(Role.ASSISTANT, "a1"),
        ChatMessage(Role.USER, "q2"),
        ChatMessage(Role.ASSISTANT, "a2"),
        ChatMessage(Role.USER, "q3"),
    )


async def test_the_model_does_not_see_other_conversations(
    sut: AnswerMessage,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    member: Actor,
) -> None:
    await interactions.append(past("chan-other", "secret question", "secret answer", 1))

    await sut.execute(request(member, "hi", conversation_id="chan-1"))

    assert chat_model.calls[0].messages == (
        ChatMessage(Role.SYSTEM, SYSTEM),
        ChatMessage(Role.USER, "hi"),
    )


async def test_the_model_sees_only_the_last_history_turns_exchanges(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(
        chat_model, interactions, models, system_prompt="", limits=Limits(history_turns=2)
    )
    for number in range(1, 4):
        await interactions.append(past("chan-1", f"q{number}", f"a{number}", number))

    await sut.execute(request(member, "q4"))

    assert [m.content for m in chat_model.calls[0].messages] == ["q2", "a2", "q3", "a3", "q4"]


async def test_the_oldest_exchanges_are_dropped_to_stay_under_the_history_budget(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    # Each exchange is 10 characters (5 + 5); a budget of 25 keeps two of three.
    sut = make_sut(
        chat_model, interactions, models, system_prompt="", limits=Limits(max_history_chars=25)
    )
    for number in range(1, 4):
        await interactions.append(past("chan-1", f"qqqq{number}", f"aaaa{number}", number))

    result = await sut.execute(request(member, "next"))

    contents = [m.content for m in chat_model.calls[0].messages]
    assert contents == ["qqqq2", "aaaa2", "qqqq3", "aaaa3", "next"]
    assert [m.content for m in result.interaction.history] == ["qqqq2", "aaaa2", "qqqq3", "aaaa3"]


async def test_history_exactly_at_the_budget_is_kept_whole(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(
        chat_model, interactions, models, system_prompt="", limits=Limits(max_history_chars=20)
    )
    for number in range(1, 3):
        await interactions.append(past("chan-1", f"qqqq{number}", f"aaaa{number}", number))

    await sut.execute(request(member, "next"))

    assert len(chat_model.calls[0].messages) == 5


async def test_an_exchange_longer_than_the_whole_budget_is_left_out(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(
        chat_model, interactions, models, system_prompt="", limits=Limits(max_history_chars=5)
    )
    await interactions.append(past("chan-1", "a long question", "a long answer", 1))

    await sut.execute(request(member, "next"))

    assert chat_model.calls[0].messages == (ChatMessage(Role.USER, "next"),)


# --- what is logged --------------------------------------------------------------------------


async def test_the_answer_is_logged_with_prompt_history_model_reply_and_message_id(
    sut: AnswerMessage,
    interactions: InMemoryInteractionLog,
    member: Actor,
) -> None:
    await interactions.append(past("chan-1", "q1", "a1", 1))

    result = await sut.execute(request(member, "  q2 ", message_id="m-42"))

    logged = interactions.interactions[-1]
    assert logged == result.interaction
    assert logged.id.startswith("int-")
    assert logged.conversation_id == "chan-1"
    assert logged.author_id == member.id
    assert logged.message_id == "m-42"
    assert logged.prompt == "q2"
    assert logged.reply == "echo: q2"
    assert logged.model == DEFAULT
    assert logged.history == (ChatMessage(Role.USER, "q1"), ChatMessage(Role.ASSISTANT, "a1"))
    assert logged.source is Source.TEXT
    assert logged.reply_message_ids == ()


async def test_the_reply_is_the_model_answer_without_surrounding_spaces(
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
) -> None:
    sut = make_sut(InMemoryChatModel(lambda m, model: "\n  Four.  \n"), interactions, models)

    result = await sut.execute(request(member, "What is 2+2?"))

    assert result.reply == "Four."
    assert interactions.interactions[0].reply == "Four."


async def test_a_text_message_is_logged_as_text_by_default(
    sut: AnswerMessage, interactions: InMemoryInteractionLog, member: Actor
) -> None:
    await sut.execute(request(member))

    assert interactions.interactions[0].source is Source.TEXT


async def test_each_answer_is_logged_once_with_its_own_id(
    sut: AnswerMessage, interactions: InMemoryInteractionLog, member: Actor
) -> None:
    first = await sut.execute(request(member, "one", message_id="m-1"))
    second = await sut.execute(request(member, "two", message_id="m-2"))

    assert [i.id for i in interactions.interactions] == [
        first.interaction.id,
        second.interaction.id,
    ]
    assert first.interaction.id != second.interaction.id
    # the second answer saw the first one as history
    assert second.interaction.history == (
        ChatMessage(Role.USER, "one"),
        ChatMessage(Role.ASSISTANT, "echo: one"),
    )


# --- streamed answers ------------------------------------------------------------------------


async def read(answer: AnswerStream) -> list[str]:
    return [piece async for piece in answer]


LONG = "  The capital of France is Paris, a city on the Seine.\n\nIt has museums.  \n"


async def test_a_streamed_answer_arrives_in_pieces_that_join_into_the_executed_reply(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor
) -> None:
    sut = make_sut(InMemoryChatModel(lambda m, model: LONG), interactions, models)

    whole = await sut.execute(request(member, "q", message_id="m-1"))
    answer = await sut.stream(request(member, "q", message_id="m-2"))
    pieces = await read(answer)

    assert len(pieces) > 5
    assert "".join(pieces) == whole.reply == LONG.strip()
    assert answer.text == whole.reply
    assert answer.result.reply == whole.reply


async def test_a_streamed_answer_is_logged_once_when_finished_as_execute_logs_it(
    sut: AnswerMessage, interactions: InMemoryInteractionLog, member: Actor
) -> None:
    await interactions.append(past("chan-1", "q1", "a1", 1))

    answer = await sut.stream(request(member, " q2 ", message_id="m-42"))
    pieces = answer.__aiter__()
    first = await anext(pieces)
    assert interactions.interactions[1:] == []  # not before the whole answer is known
    with pytest.raises(RuntimeError):
        answer.result  # noqa: B018 - reading it is the check
    rest = [piece async for piece in pieces]

    logged = interactions.interactions[-1]
    assert answer.result.interaction == logged
    assert first + "".join(rest) == logged.reply == "echo: q2"
    assert (logged.prompt, logged.message_id, logged.model) == ("q2", "m-42", DEFAULT)
    assert logged.history == (ChatMessage(Role.USER, "q1"), ChatMessage(Role.ASSISTANT, "a1"))
    assert logged.source is Source.TEXT


async def test_refusals_are_raised_by_stream_itself_before_any_text(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    limit = RateLimit(per_minute=1, burst=1)
    sut = make_sut(
        chat_model, interactions, models, limits=Limits(max_message_chars=10), rate_limit=limit
    )

    with refuses(MessageTooLong):
        await sut.stream(request(member, "x" * 11))
    with refuses(RateLimited):
        await sut.stream(request(member, "fine"))
    assert chat_model.calls == []
    assert interactions.interactions == []


async def test_a_model_failing_mid_answer_fails_the_stream_and_logs_nothing(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor, refuses
) -> None:
    chat_model = InMemoryChatModel(
        lambda m, model: "one two three four",
        fail_with=ServiceError("The chat model went away."),
        fail_after=2,
    )
    sut = make_sut(chat_model, interactions, models)
    answer = await sut.stream(request(member))
    shown: list[str] = []

    with refuses(ServiceError):
        async for piece in answer:
            shown.append(piece)

    assert "".join(shown) == "one two"
    assert interactions.interactions == []
    assert not answer.finished


@pytest.mark.parametrize("answer", ["", "  \n "])
async def test_an_empty_streamed_answer_is_a_service_error_and_logs_nothing(
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
    answer: str,
) -> None:
    sut = make_sut(InMemoryChatModel(lambda m, model: answer), interactions, models)
    stream = await sut.stream(request(member))

    with refuses(ServiceError):
        await read(stream)
    assert interactions.interactions == []


async def test_a_reader_that_stops_early_stops_the_model_and_nothing_is_logged(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor
) -> None:
    closed: list[str] = []

    class Endless(InMemoryChatModel):
        async def stream(
            self, messages: Sequence[ChatMessage], *, model: str
        ) -> AsyncIterator[str]:
            try:
                while True:
                    yield "more "
            finally:
                closed.append(model)

    sut = make_sut(Endless(), interactions, models)
    answer = await sut.stream(request(member))
    pieces = answer.__aiter__()
    assert await anext(pieces) == "more"
    await pieces.aclose()  # type: ignore[attr-defined]

    assert closed == [DEFAULT]
    assert interactions.interactions == []


# --- answers marked unwanted -----------------------------------------------------------------

UNWANTED = "Yes, the sun is a planet."


def teaches_not(*answers: str) -> Any:
    return lambda messages, model: answers


@pytest.mark.parametrize("said", [UNWANTED, "  yes the SUN is a planet!  "])
async def test_an_answer_marked_unwanted_is_withheld_whole_and_streamed(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor, said: str
) -> None:
    chat_model = InMemoryChatModel(lambda m, model: said, unwanted=teaches_not(UNWANTED))
    sut = make_sut(chat_model, interactions, models)

    whole = await sut.execute(request(member, "Is the sun a planet?"))
    answer = await sut.stream(request(member, "Is the sun a planet?"))
    pieces = await read(answer)

    assert whole.reply == WITHHELD_REPLY
    assert pieces == [WITHHELD_REPLY]  # no word of the unwanted answer was ever given
    assert [i.reply for i in interactions.interactions] == [WITHHELD_REPLY, WITHHELD_REPLY]


async def test_text_is_held_back_only_while_it_may_still_become_an_unwanted_answer(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor
) -> None:
    said = "Yes, the sun is a star, not a planet."
    chat_model = InMemoryChatModel(lambda m, model: said, unwanted=teaches_not(UNWANTED))
    sut = make_sut(chat_model, interactions, models)

    whole = await sut.execute(request(member, "Is the sun a planet?"))
    pieces = await read(await sut.stream(request(member, "Is the sun a planet?")))

    assert whole.reply == said
    assert "".join(pieces) == said
    # "Yes, the sun is a" could still have become the unwanted answer: it came out in one piece
    # with "star,", the first word that ruled that out; the rest word by word.
    assert pieces[0] == "Yes, the sun is a star,"
    assert len(pieces) == 4


async def test_the_model_is_asked_which_answers_are_unwanted_for_this_conversation(
    interactions: InMemoryInteractionLog, models: InMemoryModelRegistry, member: Actor
) -> None:
    asked: list[tuple[tuple[ChatMessage, ...], str]] = []

    def unwanted(messages: Sequence[ChatMessage], model: str) -> tuple[str, ...]:
        asked.append((tuple(messages), model))
        return ()

    chat_model = InMemoryChatModel(unwanted=unwanted)
    sut = make_sut(chat_model, interactions, models)

    await sut.execute(request(member, "hi"))

    assert asked == [(chat_model.calls[0].messages, DEFAULT)]


# --- voice messages --------------------------------------------------------------------------


def voice_sut(
    answer: AnswerMessage, limit: RateLimit | None, heard: str = "what is the capital"
) -> AnswerVoiceMessage:
    transcribe = TranscribeVoice(
        converter=InMemoryAudioConverter(),
        speech_to_text=InMemorySpeechToText(heard),
        workspace=InMemoryWorkspace(),
        language="en",
        rate_limit=limit,
    )
    return AnswerVoiceMessage(transcribe=transcribe, answer=answer)


def voice(author: Actor, number: int, text: str = "") -> VoiceMessageRequest:
    return VoiceMessageRequest(
        conversation_id="chan-1",
        author=author,
        audio=AudioClip(b"sound", filename="voice.ogg"),
        message_id=f"m-{number}",
        text=text,
    )


async def test_a_voice_message_takes_the_rate_limit_once_and_is_logged_as_voice(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    limit = RateLimit(per_minute=1, burst=2)
    answer = make_sut(chat_model, interactions, models, rate_limit=limit)
    sut = voice_sut(answer, limit)

    first = await sut.execute(await sut.hear(voice(member, 1, text="Please:")))
    second = await read(await sut.stream(await sut.hear(voice(member, 2))))
    with refuses(RateLimited):
        await sut.hear(voice(member, 3))

    assert first.interaction.prompt == "Please:\nwhat is the capital"
    assert "".join(second) == "echo: what is the capital"
    assert [(i.message_id, i.source) for i in interactions.interactions] == [
        ("m-1", Source.VOICE),
        ("m-2", Source.VOICE),
    ]


async def test_a_heard_voice_message_is_answered_once_and_only_by_the_use_case_that_heard_it(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    answer = make_sut(chat_model, interactions, models)
    sut, other = voice_sut(answer, None), voice_sut(answer, None)
    heard = await sut.hear(voice(member, 1))
    forged = replace(heard)

    with refuses(InvalidArgument):
        await other.execute(heard)
    with refuses(InvalidArgument):
        await sut.execute(forged)
    await sut.execute(heard)
    with refuses(InvalidArgument):
        await sut.stream(heard)
    assert len(interactions.interactions) == 1


async def test_a_voice_message_that_heard_nothing_is_not_answered(
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    models: InMemoryModelRegistry,
    member: Actor,
    refuses,
) -> None:
    sut = voice_sut(make_sut(chat_model, interactions, models), None, heard="  ")

    heard = await sut.hear(voice(member, 1))

    assert not heard.heard_anything
    with refuses(EmptyMessage):
        await sut.execute(heard)
    assert chat_model.calls == []
