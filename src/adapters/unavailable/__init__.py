"""Adapters for capabilities this configuration does not have.

Each raises ``CapabilityUnavailable`` with a sentence saying what is missing and what to do, so a
user is told plainly instead of receiving a made-up answer. The container uses them where an
engine is not installed or not configured (and for voice in the console, which has no channel).
"""

from __future__ import annotations

from collections.abc import Sequence

from trainerbot.core.entities import (
    AudioClip,
    ChatMessage,
    PcmAudio,
    TrainingJob,
    TrainingSpec,
    Transcript,
)
from trainerbot.core.errors import CapabilityUnavailable
from trainerbot.ports import (
    ChatModel,
    ModelTrainer,
    SpeechToText,
    TextToSpeech,
    VoiceOutput,
)


class Unavailable:
    """Base of the adapters below; ``reason`` says what is missing."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self) -> CapabilityUnavailable:
        return CapabilityUnavailable(self.reason)


class UnavailableChatModel(Unavailable, ChatModel):
    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        raise self._refuse()


class UnavailableModelTrainer(Unavailable, ModelTrainer):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(reason)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def min_examples(self) -> int:
        return 1

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        raise self._refuse()

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        raise self._refuse()

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        raise self._refuse()


class UnavailableSpeechToText(Unavailable, SpeechToText):
    async def transcribe(self, audio: PcmAudio, *, language: str) -> Transcript:
        raise self._refuse()


class UnavailableTextToSpeech(Unavailable, TextToSpeech):
    async def synthesize(self, text: str, *, language: str) -> AudioClip:
        raise self._refuse()


class UnavailableVoiceOutput(Unavailable, VoiceOutput):
    async def enqueue(self, target: str, clip: AudioClip) -> None:
        raise self._refuse()


__all__ = [
    "Unavailable",
    "UnavailableChatModel",
    "UnavailableModelTrainer",
    "UnavailableSpeechToText",
    "UnavailableTextToSpeech",
    "UnavailableVoiceOutput",
]
