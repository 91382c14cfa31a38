"""TranscribeVoice: audio bytes or a workspace audio file → a transcript."""

from __future__ import annotations

import pytest

from trainerbot.adapters.memory import (
    InMemoryAudioConverter,
    InMemorySpeechToText,
    InMemoryWorkspace,
)
from trainerbot.core.entities import Actor, AudioClip, PcmAudio
from trainerbot.core.errors import (
    AudioTooLarge,
    AudioTooLong,
    EmptyAudio,
    InvalidArgument,
    InvalidPath,
    PathOutsideWorkspace,
    PermissionDenied,
    UndecodableAudio,
    WorkspaceFileNotFound,
)
from trainerbot.core.limits import (
    Limits,
    audio_longer_than,
    refuse_overlong_audio,
    refuse_oversized_audio,
)
from trainerbot.core.transcribe_voice import TranscribeRequest, TranscribeVoice

LANGUAGE = "ru-RU"
# The in-memory converter takes bytes as 16 kHz 16-bit PCM: 32 000 bytes are one second.
ONE_SECOND = b"\x01\x00" * 16_000


def make_sut(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
    limits: Limits | None = None,
) -> TranscribeVoice:
    return TranscribeVoice(
        converter=converter,
        speech_to_text=speech_to_text,
        workspace=workspace,
        language=LANGUAGE,
        limits=limits or Limits(),
    )


@pytest.fixture
def workspace() -> InMemoryWorkspace:
    return InMemoryWorkspace(
        files={"voice/hello.ogg": ONE_SECOND, "voice/empty.ogg": b"", "notes.txt": b"hi"}
    )


@pytest.fixture
def sut(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
) -> TranscribeVoice:
    return make_sut(converter, speech_to_text, workspace)


def voice_message(data: bytes = ONE_SECOND) -> AudioClip:
    return AudioClip(data=data, filename="voice-message.ogg", content_type="audio/ogg")


# --- audio from a message --------------------------------------------------------------------


async def test_transcribes_a_voice_message_in_the_configured_language(
    sut: TranscribeVoice, speech_to_text: InMemorySpeechToText
) -> None:
    result = await sut.execute(TranscribeRequest(audio=voice_message()))

    assert result.transcript.text == "hello there"
    assert result.transcript.language == LANGUAGE
    assert result.heard_anything is True
    assert [language for _, language in speech_to_text.heard] == [LANGUAGE]


async def test_the_request_language_overrides_the_configured_one(
    sut: TranscribeVoice, speech_to_text: InMemorySpeechToText
) -> None:
    result = await sut.execute(TranscribeRequest(audio=voice_message(), language="en-GB"))

    assert result.transcript.language == "en-GB"
    assert [language for _, language in speech_to_text.heard] == ["en-GB"]


async def test_recognition_runs_on_the_pcm_the_converter_decoded(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
) -> None:
    clip = voice_message(ONE_SECOND * 2)

    result = await sut.execute(TranscribeRequest(audio=clip))

    assert converter.converted == [clip]
    assert [audio for audio, _ in speech_to_text.heard] == [
        PcmAudio(samples=ONE_SECOND * 2, sample_rate=16_000)
    ]
    assert result.duration_seconds == 2.0


async def test_a_member_without_the_trainer_role_may_transcribe_a_voice_message(
    sut: TranscribeVoice, speech_to_text: InMemorySpeechToText, member: Actor
) -> None:
    result = await sut.execute(TranscribeRequest(audio=voice_message(), actor=member))

    assert result.transcript.text == "hello there"
    assert len(speech_to_text.heard) == 1


async def test_hearing_nothing_is_an_empty_transcript_not_an_error(
    converter: InMemoryAudioConverter, workspace: InMemoryWorkspace
) -> None:
    silence = InMemorySpeechToText("")
    sut = make_sut(converter, silence, workspace)

    result = await sut.execute(TranscribeRequest(audio=voice_message()))

    assert result.transcript.text == ""
    assert result.heard_anything is False
    assert len(silence.heard) == 1


# --- refusals of the audio itself ------------------------------------------------------------


async def test_refuses_empty_audio_and_converts_nothing(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    refuses,
) -> None:
    with refuses(EmptyAudio):
        await sut.execute(TranscribeRequest(audio=voice_message(b"")))

    assert converter.converted == []
    assert speech_to_text.heard == []


async def test_refuses_audio_over_the_size_limit_and_converts_nothing(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
    refuses,
) -> None:
    sut = make_sut(converter, speech_to_text, workspace, Limits(max_audio_bytes=1_000))

    with refuses(AudioTooLarge) as caught:
        await sut.execute(TranscribeRequest(audio=voice_message(b"\x00" * 1_001)))

    assert str(caught.value) == "That audio file is 1001 bytes; the limit is 1000 bytes."
    assert converter.converted == []
    assert speech_to_text.heard == []


async def test_accepts_audio_of_exactly_the_size_limit(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
) -> None:
    sut = make_sut(converter, speech_to_text, workspace, Limits(max_audio_bytes=1_000))

    await sut.execute(TranscribeRequest(audio=voice_message(b"\x00" * 1_000)))

    assert len(speech_to_text.heard) == 1


def samples_for(seconds: float) -> bytes:
    """``seconds`` of 16 kHz 16-bit PCM, as the in-memory converter takes bytes."""
    return b"\x01\x00" * round(seconds * 16_000)


async def test_refuses_a_recording_over_the_duration_limit_and_recognises_nothing(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
    refuses,
) -> None:
    sut = make_sut(converter, speech_to_text, workspace, Limits(max_audio_seconds=300.0))

    with refuses(AudioTooLong) as caught:
        await sut.execute(TranscribeRequest(audio=voice_message(samples_for(300.05))))

    # Not "300 s long; the limit is 300 s": the length stated is the one that was refused.
    assert str(caught.value) == "That recording is 300.1 s long; the limit is 300 s."
    assert speech_to_text.heard == []


@pytest.mark.parametrize("seconds", [300.0, 300.04], ids=["exactly", "codec-padding"])
async def test_accepts_a_recording_of_the_duration_limit_to_the_tenth_of_a_second(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    workspace: InMemoryWorkspace,
    seconds: float,
) -> None:
    sut = make_sut(converter, speech_to_text, workspace, Limits(max_audio_seconds=300.0))

    result = await sut.execute(TranscribeRequest(audio=voice_message(samples_for(seconds))))

    assert result.duration_seconds == pytest.approx(seconds)
    assert len(speech_to_text.heard) == 1


# --- the audio limits, as rules (core.limits) ------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "limit", "message"),
    [
        (300.05, 300.0, "That recording is 300.1 s long; the limit is 300 s."),
        (300.041, 300.0, "That recording is 300.1 s long; the limit is 300 s."),
        (312.0, 300.0, "That recording is 312 s long; the limit is 300 s."),
        (1.1, 1.0, "That recording is 1.1 s long; the limit is 1 s."),
        (1.6, 1.55, "That recording is 1.6 s long; the limit is 1.55 s."),
        (1.95, 1.8614, "That recording is 2 s long; the limit is 1.861 s."),
        (1.94, 1.8999, "That recording is 2 s long; the limit is 1.899 s."),
    ],
)
def test_a_length_over_the_limit_is_refused_stating_a_greater_length(
    seconds: float, limit: float, message: str, refuses
) -> None:
    with refuses(AudioTooLong) as caught:
        refuse_overlong_audio(seconds, limit)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "limit"),
    [
        (300.0, 300.0),
        (300.04, 300.0),  # what decoding adds: an MP3 comes back about 0.02 s longer
        (299.9, 300.0),
        (0.3, 0.3),
        (0.0, 1.0),
        (1.8614 + 0.0216, 1.8614),
    ],
)
def test_a_length_within_the_limit_and_its_padding_passes(seconds: float, limit: float) -> None:
    assert refuse_overlong_audio(seconds, limit) is None


@pytest.mark.parametrize("stopped_at", [301.0, 300.99997], ids=["exactly", "resampled"])
def test_a_recording_cut_off_while_decoding_is_refused_as_longer_than_where_it_stopped(
    stopped_at: float,
) -> None:
    error = audio_longer_than(stopped_at, 300.0)

    assert isinstance(error, AudioTooLong)
    assert str(error) == "That recording is longer than 301 s; the limit is 300 s."


def test_a_size_of_exactly_the_limit_passes_and_one_byte_more_is_too_large(refuses) -> None:
    assert refuse_oversized_audio(25 * 1024 * 1024, 25 * 1024 * 1024) is None
    with refuses(AudioTooLarge) as caught:
        refuse_oversized_audio(25 * 1024 * 1024 + 1, 25 * 1024 * 1024)

    # Rounded to 25.0 MB both would read alike: the bytes tell them apart.
    assert str(caught.value) == (
        "That audio file is 26,214,401 bytes; the limit is 26,214,400 bytes."
    )


def test_a_size_over_the_limit_is_stated_in_rounded_units_where_they_differ(refuses) -> None:
    with refuses(AudioTooLarge) as caught:
        refuse_oversized_audio(26 * 1024 * 1024, 25 * 1024 * 1024)

    assert str(caught.value) == "That audio file is 26.0 MB; the limit is 25.0 MB."


async def test_refuses_undecodable_audio_and_recognises_nothing(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    refuses,
) -> None:
    with refuses(UndecodableAudio):
        await sut.execute(TranscribeRequest(audio=voice_message(b"NOT AUDIO: a zip file")))

    assert converter.converted == []
    assert speech_to_text.heard == []


# --- where the audio comes from --------------------------------------------------------------


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(TranscribeRequest(), id="neither"),
        pytest.param(
            TranscribeRequest(
                audio=AudioClip(data=ONE_SECOND),
                path="voice/hello.ogg",
                actor=Actor("u-trainer", "Tess", can_train=True),
            ),
            id="both",
        ),
    ],
)
async def test_refuses_a_request_without_exactly_one_of_audio_or_path(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    refuses,
    request_: TranscribeRequest,
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(request_)

    assert converter.converted == []
    assert speech_to_text.heard == []


async def test_a_trainer_transcribes_an_audio_file_of_the_workspace(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    trainer: Actor,
) -> None:
    result = await sut.execute(TranscribeRequest(path="./voice/hello.ogg", actor=trainer))

    assert result.transcript.text == "hello there"
    assert converter.converted == [AudioClip(data=ONE_SECOND, filename="hello.ogg")]
    assert len(speech_to_text.heard) == 1


async def test_refuses_a_workspace_path_from_a_member_without_the_trainer_role(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    member: Actor,
    refuses,
) -> None:
    with refuses(PermissionDenied):
        await sut.execute(TranscribeRequest(path="voice/hello.ogg", actor=member))

    assert converter.converted == []
    assert speech_to_text.heard == []


async def test_refuses_a_workspace_path_when_nobody_is_named_as_asking(
    sut: TranscribeVoice, converter: InMemoryAudioConverter, refuses
) -> None:
    with refuses(InvalidArgument):
        await sut.execute(TranscribeRequest(path="voice/hello.ogg"))

    assert converter.converted == []


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../outside.ogg", PathOutsideWorkspace),
        ("voice/../../outside.ogg", PathOutsideWorkspace),
        ("/etc/passwd", PathOutsideWorkspace),
        ("C:\\audio.ogg", PathOutsideWorkspace),
        ("voice/\x00hello.ogg", InvalidPath),
        ("", InvalidPath),
        ("voice/missing.ogg", WorkspaceFileNotFound),
    ],
)
async def test_refuses_a_workspace_path_that_is_outside_malformed_or_missing(
    sut: TranscribeVoice,
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    trainer: Actor,
    refuses,
    path: str,
    error: type[Exception],
) -> None:
    with refuses(error):
        await sut.execute(TranscribeRequest(path=path, actor=trainer))

    assert converter.converted == []
    assert speech_to_text.heard == []


async def test_refuses_an_empty_workspace_audio_file(
    sut: TranscribeVoice, converter: InMemoryAudioConverter, trainer: Actor, refuses
) -> None:
    with refuses(EmptyAudio):
        await sut.execute(TranscribeRequest(path="voice/empty.ogg", actor=trainer))

    assert converter.converted == []


async def test_refuses_a_workspace_audio_file_over_the_size_limit_as_audio_too_large(
    converter: InMemoryAudioConverter,
    speech_to_text: InMemorySpeechToText,
    trainer: Actor,
    refuses,
) -> None:
    workspace = InMemoryWorkspace(files={"voice/long.ogg": b"\x00" * 1_001})
    sut = make_sut(converter, speech_to_text, workspace, Limits(max_audio_bytes=1_000))

    with refuses(AudioTooLarge):
        await sut.execute(TranscribeRequest(path="voice/long.ogg", actor=trainer))

    assert converter.converted == []
