"""Speech fakes: a converter that treats bytes as PCM, scripted recognition, recorded playback."""

from __future__ import annotations

from collections import defaultdict

from trainerbot.core.entities import AudioClip, PcmAudio, Transcript
from trainerbot.core.errors import InvalidInput, UndecodableAudio, VoiceNotConnected
from trainerbot.ports import AudioConverter, SpeechToText, TextToSpeech, VoiceOutput


class InMemoryAudioConverter(AudioConverter):
    """Takes a clip's bytes as 16 kHz PCM as they are; clips whose bytes start with
    ``undecodable_prefix`` are refused as not audio. Converted clips are kept in ``converted``."""

    def __init__(
        self, *, sample_rate: int = 16_000, undecodable_prefix: bytes = b"NOT AUDIO"
    ) -> None:
        self.sample_rate = sample_rate
        self.undecodable_prefix = undecodable_prefix
        self.converted: list[AudioClip] = []

    async def to_pcm(self, clip: AudioClip) -> PcmAudio:
        if clip.data.startswith(self.undecodable_prefix):
            raise UndecodableAudio()
        self.converted.append(clip)
        return PcmAudio(samples=clip.data, sample_rate=self.sample_rate)


class InMemorySpeechToText(SpeechToText):
    """Hears ``text`` in any audio; recognised audio and languages are kept in ``heard``."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.heard: list[tuple[PcmAudio, str]] = []

    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        self.heard.append((audio, language))
        return Transcript(text=self.text, language=language, engine="memory")


class InMemoryTextToSpeech(TextToSpeech):
    """'Synthesises' a clip whose bytes are the UTF-8 text; spoken texts are kept in ``spoken``.
    Blank text is ``InvalidInput``, as with the real voices."""

    def __init__(self) -> None:
        self.spoken: list[tuple[str, str]] = []

    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        if not text.strip():
            raise InvalidInput("There is nothing to say.")
        self.spoken.append((text, language))
        return AudioClip(data=text.encode(), filename="speech.txt", content_type="text/plain")


class InMemoryVoiceOutput(VoiceOutput):
    """Queues clips per target in ``queued``; only ``connected`` targets accept audio."""

    def __init__(self, connected: set[str] | None = None) -> None:
        self.connected: set[str] | None = connected
        self.queued: dict[str, list[AudioClip]] = defaultdict(list)

    async def enqueue(self, target: str, clip: AudioClip) -> None:
        if self.connected is not None and target not in self.connected:
            raise VoiceNotConnected()
        self.queued[target].append(clip)
