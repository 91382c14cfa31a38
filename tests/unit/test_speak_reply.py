"""SpeakReply and its pure helpers: what is spoken, in which pieces, queued where."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import InMemoryTextToSpeech, InMemoryVoiceOutput
from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import VoiceNotConnected
from trainerbot.core.limits import Limits
from trainerbot.core.speak_reply import (
    MAX_SENTENCE_CHARS,
    SpeakReply,
    SpeakRequest,
    speakable,
    split_sentences,
)

LANGUAGE = "ru-RU"
REST_NOTICE = "the rest is in the chat."


def make_sut(
    text_to_speech: InMemoryTextToSpeech,
    voice: InMemoryVoiceOutput,
    limits: Limits | None = None,
) -> SpeakReply:
    return SpeakReply(
        text_to_speech=text_to_speech, voice=voice, language=LANGUAGE, limits=limits or Limits()
    )


@pytest.fixture
def sut(text_to_speech: InMemoryTextToSpeech, voice: InMemoryVoiceOutput) -> SpeakReply:
    return make_sut(text_to_speech, voice)


def queued_texts(voice: InMemoryVoiceOutput, target: str) -> list[str]:
    """What the in-memory TTS 'synthesised' is the UTF-8 text, so queued clips read back as text."""
    return [clip.data.decode() for clip in voice.queued[target]]


# --- speakable -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "heard"),
    [
        pytest.param(
            "Run:\n```python\nprint(1)\n```\nDone.",
            "Run:\n (code in the chat) \nDone.",
            id="code-block",
        ),
        pytest.param("Call `len(x)` here.", "Call len(x) here.", id="inline-code"),
        pytest.param("See https://example.com/a?b=c now.", "See a link now.", id="url"),
        pytest.param(
            "Read https://example.org/x. Or (https://x.io/y).",
            "Read a link. Or (a link).",
            id="url-before-punctuation",
        ),
        pytest.param("Hi <@123> and <@!456> and <@&789>!", "Hi and and!", id="mentions"),
        pytest.param("Go to <#42>.", "Go to.", id="channel"),
        pytest.param("Nice <:smile:123> <a:wave:456> job", "Nice job", id="custom-emoji"),
        pytest.param(
            "**bold** __under__ ~~gone~~ || spoiler ||", "bold under gone spoiler", id="markdown"
        ),
        pytest.param("# Title\n> quoted", "Title\n quoted", id="heading-and-quote"),
        pytest.param("  lots   of\t\tspace  ", "lots of space", id="spaces"),
        pytest.param("Plain words stay.", "Plain words stay.", id="plain"),
    ],
)
def test_speakable_keeps_only_what_makes_sense_aloud(text: str, heard: str) -> None:
    assert speakable(text) == heard


@pytest.mark.parametrize("text", ["", "   ", "<@123>", "**", "<:smile:123> <#1>"])
def test_speakable_leaves_nothing_of_a_reply_with_nothing_to_say(text: str) -> None:
    assert speakable(text) == ""


# --- split_sentences -------------------------------------------------------------------------


def test_split_sentences_splits_after_sentence_ends_and_at_newlines() -> None:
    text = "One. Two! Three? Four… Five\nSix\n\nSeven"

    assert split_sentences(text) == ["One.", "Two!", "Three?", "Four…", "Five", "Six", "Seven"]


def test_split_sentences_does_not_split_inside_a_number() -> None:
    assert split_sentences("Pi is 3.14 roughly. Yes.") == ["Pi is 3.14 roughly.", "Yes."]


def test_split_sentences_gives_no_empty_pieces() -> None:
    assert split_sentences("  \n\n  One.   \n \n") == ["One."]
    assert split_sentences("") == []


def test_split_sentences_cuts_a_long_sentence_at_spaces_within_the_limit() -> None:
    sentence = " ".join(f"word{n}" for n in range(40))

    pieces = split_sentences(sentence, max_chars=30)

    assert all(len(piece) <= 30 for piece in pieces)
    assert len(pieces) > 1
    assert " ".join(pieces) == sentence


def test_split_sentences_cuts_after_a_comma() -> None:
    assert split_sentences("one two, three four", max_chars=10) == ["one two,", "three four"]


def test_split_sentences_cuts_a_word_longer_than_the_limit_hard() -> None:
    assert split_sentences("x" * 25, max_chars=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_sentences_keeps_a_sentence_of_exactly_the_limit_whole() -> None:
    sentence = "a" * (MAX_SENTENCE_CHARS - 2) + " b"

    assert split_sentences(sentence) == [sentence]


# --- SpeakReply ------------------------------------------------------------------------------


async def test_each_sentence_is_synthesised_in_the_configured_language_and_queued_in_order(
    sut: SpeakReply, text_to_speech: InMemoryTextToSpeech, voice: InMemoryVoiceOutput
) -> None:
    result = await sut.execute(SpeakRequest(text="Hello there. How are you?", target="guild-1"))

    assert text_to_speech.spoken == [("Hello there.", LANGUAGE), ("How are you?", LANGUAGE)]
    assert voice.queued["guild-1"] == [
        AudioClip(data=b"Hello there.", filename="speech.txt", content_type="text/plain"),
        AudioClip(data=b"How are you?", filename="speech.txt", content_type="text/plain"),
    ]
    assert result.sentences == 2
    assert result.spoken_chars == len("Hello there.") + len("How are you?")


async def test_the_request_language_overrides_the_configured_one(
    sut: SpeakReply, text_to_speech: InMemoryTextToSpeech
) -> None:
    await sut.execute(SpeakRequest(text="Hello.", target="guild-1", language="en-US"))

    assert text_to_speech.spoken == [("Hello.", "en-US")]


async def test_code_links_mentions_and_markdown_are_not_read_aloud(
    sut: SpeakReply, voice: InMemoryVoiceOutput
) -> None:
    text = "**Look** at https://example.com with <@123>.\n```\nrm -rf /\n```"

    await sut.execute(SpeakRequest(text=text, target="guild-1"))

    assert queued_texts(voice, "guild-1") == ["Look at a link with.", "(code in the chat)"]


@pytest.mark.parametrize("text", ["", "  \n ", "<@123> <#456>", "**__**"])
async def test_a_reply_with_nothing_speakable_is_not_spoken(
    sut: SpeakReply,
    text_to_speech: InMemoryTextToSpeech,
    voice: InMemoryVoiceOutput,
    text: str,
) -> None:
    result = await sut.execute(SpeakRequest(text=text, target="guild-1"))

    assert result.sentences == 0
    assert result.spoken_chars == 0
    assert text_to_speech.spoken == []
    assert dict(voice.queued) == {}


async def test_a_reply_over_the_spoken_limit_is_cut_and_the_listener_told_the_rest_is_in_the_chat(
    text_to_speech: InMemoryTextToSpeech, voice: InMemoryVoiceOutput
) -> None:
    sut = make_sut(text_to_speech, voice, Limits(max_spoken_chars=30))
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"

    result = await sut.execute(SpeakRequest(text=text, target="guild-1"))

    spoken = queued_texts(voice, "guild-1")
    assert spoken == ["alpha beta gamma delta…", REST_NOTICE]
    assert len(spoken[0].removesuffix("…")) <= 30
    assert result.sentences == 2


async def test_a_reply_of_exactly_the_spoken_limit_is_spoken_whole(
    text_to_speech: InMemoryTextToSpeech, voice: InMemoryVoiceOutput
) -> None:
    sut = make_sut(text_to_speech, voice, Limits(max_spoken_chars=11))

    await sut.execute(SpeakRequest(text="Hello there", target="guild-1"))

    assert queued_texts(voice, "guild-1") == ["Hello there"]


async def test_a_long_sentence_is_spoken_in_pieces_no_longer_than_the_sentence_limit(
    sut: SpeakReply, voice: InMemoryVoiceOutput
) -> None:
    sentence = " ".join(["word"] * 200)  # 999 characters, no sentence end

    result = await sut.execute(SpeakRequest(text=sentence, target="guild-1"))

    spoken = queued_texts(voice, "guild-1")
    assert result.sentences == len(spoken) > 1
    assert all(len(piece) <= MAX_SENTENCE_CHARS for piece in spoken)
    assert " ".join(spoken) == sentence


async def test_each_sentence_is_queued_as_soon_as_it_is_synthesised(
    text_to_speech: InMemoryTextToSpeech, refuses
) -> None:
    # A voice output with nowhere to play refuses the first clip: had every sentence been
    # synthesised before queueing, all three would have been synthesised by then.
    voice = InMemoryVoiceOutput(connected=set())
    sut = make_sut(text_to_speech, voice)

    with refuses(VoiceNotConnected):
        await sut.execute(SpeakRequest(text="One. Two. Three.", target="guild-1"))

    assert text_to_speech.spoken == [("One.", LANGUAGE)]
    assert dict(voice.queued) == {}


async def test_replies_for_different_targets_are_queued_separately(
    sut: SpeakReply, voice: InMemoryVoiceOutput
) -> None:
    await sut.execute(SpeakRequest(text="For one. Still one.", target="guild-1"))
    await sut.execute(SpeakRequest(text="For two.", target="guild-2"))

    assert queued_texts(voice, "guild-1") == ["For one.", "Still one."]
    assert queued_texts(voice, "guild-2") == ["For two."]


async def test_a_connected_target_accepts_the_reply(text_to_speech: InMemoryTextToSpeech) -> None:
    voice = InMemoryVoiceOutput(connected={"guild-1"})
    sut = make_sut(text_to_speech, voice)

    await sut.execute(SpeakRequest(text="Hi.", target="guild-1"))

    assert queued_texts(voice, "guild-1") == ["Hi."]
