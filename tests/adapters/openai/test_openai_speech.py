"""OpenAISpeechToText and OpenAITextToSpeech against the fake OpenAI server."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest
from fake_openai import FakeOpenAI, Recorded
from openai import AsyncOpenAI
from openai_adapter_support import (
    API_KEY,
    STT_MODEL,
    TTS_MODEL,
    assert_names_server,
    assert_one_clear_line,
)

from trainerbot.adapters.openai import (
    OpenAISpeechToText,
    OpenAITextToSpeech,
    make_client,
    service_name,
)
from trainerbot.core.entities import PcmAudio
from trainerbot.core.errors import InvalidInput, ServiceError, UnknownModel

SAMPLE_RATE = 16_000


def tone(seconds: float = 0.25, sample_rate: int = SAMPLE_RATE) -> PcmAudio:
    """A 440 Hz tone as 16-bit mono PCM."""
    count = int(seconds * sample_rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / sample_rate)))
        for n in range(count)
    )
    return PcmAudio(samples=samples, sample_rate=sample_rate)


@pytest.fixture
def stt(client: AsyncOpenAI, openai_server: FakeOpenAI) -> OpenAISpeechToText:
    return OpenAISpeechToText(client, model=STT_MODEL, service=service_name(openai_server.base_url))


@pytest.fixture
def tts(client: AsyncOpenAI, openai_server: FakeOpenAI) -> OpenAITextToSpeech:
    return OpenAITextToSpeech(
        client, model=TTS_MODEL, voice="alloy", service=service_name(openai_server.base_url)
    )


def transcriptions(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/audio/transcriptions", "POST")


# --- speech to text -----------------------------------------------------------------------------


async def test_transcription_uploads_the_audio_as_a_mono_16_bit_wav(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt
    audio = tone()

    await sut.transcribe(audio, language="en-US")

    [request] = transcriptions(openai_server)
    assert request.file.startswith(b"RIFF")
    with wave.open(io.BytesIO(request.file)) as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == SAMPLE_RATE
        assert wav.readframes(wav.getnframes()) == audio.samples


async def test_transcription_keeps_the_audios_own_sample_rate(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt

    await sut.transcribe(tone(sample_rate=8_000), language="en-US")

    [request] = transcriptions(openai_server)
    with wave.open(io.BytesIO(request.file)) as wav:
        assert wav.getframerate() == 8_000


async def test_transcription_sends_the_model_and_the_iso_639_1_language(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt

    await sut.transcribe(tone(), language="ru-RU")

    [request] = transcriptions(openai_server)
    assert request.form["model"] == STT_MODEL
    assert request.form["language"] == "ru"
    assert request.filename == "speech.wav"


async def test_transcript_is_the_servers_text_stripped(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt
    openai_server.transcript = "  привет, мир \n"

    transcript = await sut.transcribe(tone(), language="ru-RU")

    assert transcript.text == "привет, мир"
    assert transcript.language == "ru-RU"
    assert transcript.engine == "openai"


async def test_transcription_of_an_unknown_model_is_unknown_model(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    sut = OpenAISpeechToText(
        client, model="whisper-0", service=service_name(openai_server.base_url)
    )

    with pytest.raises(UnknownModel) as caught:
        await sut.transcribe(tone(), language="en-US")

    assert "'whisper-0'" in str(caught.value)
    assert_one_clear_line(str(caught.value))


async def test_transcription_server_error_is_a_service_error(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt
    openai_server.inject("server_error", path="/audio/transcriptions")

    with pytest.raises(ServiceError) as caught:
        await sut.transcribe(tone(), language="en-US")

    assert_names_server(str(caught.value), openai_server.base_url)
    assert_one_clear_line(str(caught.value))


async def test_transcription_dropped_connection_is_a_service_error_cannot_reach(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt
    openai_server.inject("drop", path="/audio/transcriptions")

    with pytest.raises(ServiceError) as caught:
        await sut.transcribe(tone(), language="en-US")

    assert "cannot reach" in str(caught.value)


# --- text to speech -----------------------------------------------------------------------------


async def test_speech_request_carries_model_voice_input_and_opus_format(
    openai_server: FakeOpenAI, tts: OpenAITextToSpeech
) -> None:
    sut = tts

    await sut.synthesize("Bonjour tout le monde.", language="fr-FR")

    [request] = openai_server.requests_to("/audio/speech", "POST")
    assert request.json == {
        "model": TTS_MODEL,
        "voice": "alloy",
        "input": "Bonjour tout le monde.",
        "response_format": "opus",
    }


async def test_speech_comes_back_as_an_ogg_clip(tts: OpenAITextToSpeech) -> None:
    sut = tts

    clip = await sut.synthesize("Hello there.", language="en-US")

    assert clip.data.startswith(b"OggS")
    assert clip.filename == "speech.ogg"
    assert clip.content_type == "audio/ogg"


async def test_speech_in_another_format_is_named_for_it(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    sut = OpenAITextToSpeech(
        client,
        model=TTS_MODEL,
        voice="alloy",
        service=service_name(openai_server.base_url),
        response_format="wav",
    )

    clip = await sut.synthesize("Hello there.", language="en-US")

    assert clip.data.startswith(b"RIFF")
    assert (clip.filename, clip.content_type) == ("speech.wav", "audio/wav")


async def test_blank_text_is_refused_without_a_request(
    openai_server: FakeOpenAI, tts: OpenAITextToSpeech
) -> None:
    sut = tts

    with pytest.raises(InvalidInput):
        await sut.synthesize("  \n", language="en-US")

    assert openai_server.requests == []


async def test_speech_slower_than_the_timeout_is_a_service_error(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject("slow", path="/audio/speech", delay=1.0)
    async with make_client(
        api_key=API_KEY, base_url=openai_server.base_url, timeout=0.3, max_retries=0
    ) as client:
        sut = OpenAITextToSpeech(
            client, model=TTS_MODEL, voice="alloy", service=service_name(openai_server.base_url)
        )
        with pytest.raises(ServiceError) as caught:
            await sut.synthesize("Hello there.", language="en-US")

    assert "did not answer in time" in str(caught.value)
    assert_one_clear_line(str(caught.value))


async def test_speech_rate_limited_beyond_the_retries_is_a_service_error(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject("rate_limit", path="/audio/speech", times=2, retry_after="0.05")
    async with make_client(
        api_key=API_KEY, base_url=openai_server.base_url, timeout=2.0, max_retries=1
    ) as client:
        sut = OpenAITextToSpeech(
            client, model=TTS_MODEL, voice="alloy", service=service_name(openai_server.base_url)
        )
        with pytest.raises(ServiceError) as caught:
            await sut.synthesize("Hello there.", language="en-US")

    assert "rate-limiting" in str(caught.value)
    assert_names_server(str(caught.value), openai_server.base_url)
    assert len(openai_server.requests_to("/audio/speech")) == 2


async def test_speech_of_an_unknown_model_is_unknown_model(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    sut = OpenAITextToSpeech(
        client, model="tts-0", voice="alloy", service=service_name(openai_server.base_url)
    )

    with pytest.raises(UnknownModel) as caught:
        await sut.synthesize("Hello there.", language="en-US")

    assert "'tts-0'" in str(caught.value)


async def test_transcription_malformed_body_is_a_service_error_could_not_read(
    openai_server: FakeOpenAI, stt: OpenAISpeechToText
) -> None:
    sut = stt
    openai_server.inject("malformed", path="/audio/transcriptions")

    with pytest.raises(ServiceError) as caught:
        await sut.transcribe(tone(), language="en-US")

    assert "could not read" in str(caught.value)
    assert_one_clear_line(str(caught.value))


async def test_speech_dropped_connection_is_a_service_error_cannot_reach(
    openai_server: FakeOpenAI, tts: OpenAITextToSpeech
) -> None:
    sut = tts
    openai_server.inject("drop", path="/audio/speech")

    with pytest.raises(ServiceError) as caught:
        await sut.synthesize("Hello there.", language="en-US")

    assert "cannot reach" in str(caught.value)
    assert_names_server(str(caught.value), openai_server.base_url)


async def test_speech_malformed_body_is_a_service_error_could_not_read(
    openai_server: FakeOpenAI, tts: OpenAITextToSpeech
) -> None:
    sut = tts
    openai_server.inject("malformed", path="/audio/speech")

    with pytest.raises(ServiceError) as caught:
        await sut.synthesize("Hello there.", language="en-US")

    assert "could not read" in str(caught.value)
