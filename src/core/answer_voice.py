"""AnswerVoiceMessage: hear a voice message, then answer what was heard."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from .answer_message import AnswerMessage, AnswerRequest, AnswerResult, AnswerStream
from .entities import Actor, AudioClip
from .errors import EmptyMessage, InvalidArgument
from .transcribe_voice import TranscribeRequest, TranscribeResult, TranscribeVoice


@dataclass(frozen=True)
class VoiceMessageRequest:
    """A voice message (or an audio attachment), with any text typed along with it."""

    conversation_id: str
    author: Actor
    audio: AudioClip
    message_id: str
    text: str = ""
    language: str | None = None


@dataclass(frozen=True, eq=False)
class HeardVoice:
    """What ``AnswerVoiceMessage.hear`` heard: the transcription and the question it makes (the
    typed text, then the transcript). Only the use case that heard it can answer it, once."""

    transcription: TranscribeResult
    question: AnswerRequest

    @property
    def heard_anything(self) -> bool:
        return self.transcription.heard_anything


class AnswerVoiceMessage:
    """Answer a voice message.

    Rules:
    - ``hear`` transcribes the audio (``TranscribeVoice``: the author's rate limit is taken
      there, once, and the audio limits are checked there). Hearing nothing is a result, not an
      error: the caller says so and asks nothing.
    - ``execute`` or ``stream`` then answers what was heard as ``AnswerMessage`` answers a typed
      message, logged as a voice message, without taking the rate limit again. Only a
      ``HeardVoice`` this use case made, that heard something and was not answered yet, is
      answered (``InvalidArgument`` otherwise, ``EmptyMessage`` when nothing was heard): no
      caller can have a message answered past the rate limit by calling it voice.
    """

    def __init__(self, *, transcribe: TranscribeVoice, answer: AnswerMessage) -> None:
        self._transcribe = transcribe
        self._answer = answer
        self._unanswered: weakref.WeakSet[HeardVoice] = weakref.WeakSet()

    async def hear(self, request: VoiceMessageRequest) -> HeardVoice:
        transcription = await self._transcribe.execute(
            TranscribeRequest(audio=request.audio, actor=request.author, language=request.language)
        )
        question = f"{request.text}\n{transcription.transcript.text}".strip()
        heard = HeardVoice(
            transcription=transcription,
            question=AnswerRequest(
                conversation_id=request.conversation_id,
                author=request.author,
                text=question,
                message_id=request.message_id,
            ),
        )
        if heard.heard_anything:
            self._unanswered.add(heard)
        return heard

    async def execute(self, heard: HeardVoice) -> AnswerResult:
        return await self._answer._execute_heard(self._take(heard))

    async def stream(self, heard: HeardVoice) -> AnswerStream:
        return await self._answer._stream_heard(self._take(heard))

    def _take(self, heard: HeardVoice) -> AnswerRequest:
        if not heard.heard_anything:
            raise EmptyMessage("I heard nothing to answer in that recording.")
        if heard not in self._unanswered:
            raise InvalidArgument("That voice message was not heard here, or is answered already.")
        self._unanswered.discard(heard)
        return heard.question
