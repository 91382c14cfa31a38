"""RateLimit: a token bucket per member; AnswerMessage and TranscribeVoice consult it first."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemoryChatModel,
    InMemoryInteractionLog,
    InMemoryModelRegistry,
    InMemorySpeechToText,
    InMemoryWorkspace,
)
from trainerbot.core.access import BOT, OWNER
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest
from trainerbot.core.answer_voice import AnswerVoiceMessage, VoiceMessageRequest
from trainerbot.core.entities import Actor, AudioClip
from trainerbot.core.errors import RateLimited
from trainerbot.core.rate_limit import RateLimit
from trainerbot.core.transcribe_voice import TranscribeRequest, TranscribeVoice


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def member(number: int = 1, *, can_train: bool = False) -> Actor:
    return Actor(id=f"{number}", name=f"member {number}", can_train=can_train)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sut(clock: Clock) -> RateLimit:
    return RateLimit(per_minute=6, burst=3, clock=clock)


def test_a_burst_is_allowed_then_the_next_message_is_refused_saying_when_to_retry(
    sut: RateLimit,
) -> None:
    for _ in range(3):
        sut.take(member())

    with pytest.raises(RateLimited) as refused:
        sut.take(member())

    # 6 a minute: one every 10 s.
    assert str(refused.value) == (
        "You are sending messages faster than I can answer (at most 3 at once and 6 a minute); "
        "try again in 10 s."
    )


def test_a_refusal_takes_nothing_so_waiting_the_time_it_names_is_enough(
    sut: RateLimit, clock: Clock
) -> None:
    for _ in range(3):
        sut.take(member())
    for _ in range(5):
        clock.now += 1
        with pytest.raises(RateLimited, match=r"try again in [1-9] s"):
            sut.take(member())

    clock.now += 5  # 10 s after the burst: one token back
    sut.take(member())
    with pytest.raises(RateLimited):
        sut.take(member())


def test_members_are_limited_separately_trainers_included(sut: RateLimit) -> None:
    trainer = member(2, can_train=True)
    for _ in range(3):
        sut.take(member(1))
        sut.take(trainer)

    with pytest.raises(RateLimited):
        sut.take(trainer)
    sut.take(member(3))


def test_the_console_owner_and_the_bot_are_never_limited(sut: RateLimit) -> None:
    for _ in range(50):
        sut.take(OWNER)
        sut.take(BOT)
    assert sut.tracked == 0


def test_zero_a_minute_turns_the_limit_off(clock: Clock) -> None:
    sut = RateLimit(per_minute=0, burst=1, clock=clock)
    for _ in range(50):
        sut.take(member())
    assert sut.tracked == 0


def test_a_bucket_refills_to_the_burst_and_no_further(sut: RateLimit, clock: Clock) -> None:
    sut.take(member())
    clock.now += 3600  # an hour idle: still 3 at most

    for _ in range(3):
        sut.take(member())
    with pytest.raises(RateLimited):
        sut.take(member())


def test_memory_holds_only_members_active_lately(sut: RateLimit, clock: Clock) -> None:
    for number in range(5000):
        sut.take(member(number))
        clock.now += 0.01  # 50 s for all of them: the early ones have refilled by the end

    # Each took one token, back after 10 s: the 1,000 members of the last 10 s are remembered,
    # the rest forgotten at the sweeps (one when twice as many as were kept are held).
    assert 1000 <= sut.tracked <= 2 * 1024


def test_the_member_whose_first_message_starts_a_sweep_is_counted_like_any_other(
    sut: RateLimit,
) -> None:
    for number in range(1023):
        sut.take(member(number))

    newcomer = member(5000)  # the 1,024th member held: a sweep runs as they arrive
    for _ in range(3):
        sut.take(newcomer)
    with pytest.raises(RateLimited):
        sut.take(newcomer)


@pytest.mark.parametrize(("per_minute", "burst"), [(-1, 3), (6, 0)])
def test_a_bad_configuration_is_refused(per_minute: float, burst: int) -> None:
    with pytest.raises(ValueError, match="per_minute"):
        RateLimit(per_minute=per_minute, burst=burst)


# --- the use cases consult it first ------------------------------------------------------------


def answering(
    limit: RateLimit, chat_model: InMemoryChatModel, interactions: InMemoryInteractionLog
) -> AnswerMessage:
    return AnswerMessage(
        chat_model=chat_model,
        interactions=interactions,
        models=InMemoryModelRegistry(),
        default_model="default",
        system_prompt="",
        rate_limit=limit,
    )


def transcribing(limit: RateLimit, speech_to_text: InMemorySpeechToText) -> TranscribeVoice:
    return TranscribeVoice(
        converter=InMemoryAudioConverter(),
        speech_to_text=speech_to_text,
        workspace=InMemoryWorkspace(),
        language="en-US",
        rate_limit=limit,
    )


def asked(number: int) -> AnswerRequest:
    return AnswerRequest("channel", member(), f"question {number}", f"m-{number}")


async def test_a_limited_message_is_refused_before_the_model_is_asked_and_nothing_is_logged(
    sut: RateLimit,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    refuses,
) -> None:
    answer = answering(sut, chat_model, interactions)
    for number in range(3):
        await answer.execute(asked(number))

    with refuses(RateLimited):
        await answer.execute(asked(3))

    assert len(chat_model.calls) == 3
    assert [i.message_id for i in await interactions.recent("channel", 10)] == ["m-0", "m-1", "m-2"]


async def test_a_voice_message_takes_one_when_transcribed_and_none_when_answered(
    sut: RateLimit,
    chat_model: InMemoryChatModel,
    interactions: InMemoryInteractionLog,
    speech_to_text: InMemorySpeechToText,
    refuses,
) -> None:
    answer = answering(sut, chat_model, interactions)
    transcribe = transcribing(sut, speech_to_text)
    voice = AnswerVoiceMessage(transcribe=transcribe, answer=answer)
    for number in range(3):
        heard = await voice.hear(
            VoiceMessageRequest("channel", member(), AudioClip(b"sound"), f"m-{number}")
        )
        await voice.execute(heard)

    with refuses(RateLimited):
        await transcribe.execute(TranscribeRequest(audio=AudioClip(b"sound"), actor=member()))
    assert len(speech_to_text.heard) == 3
