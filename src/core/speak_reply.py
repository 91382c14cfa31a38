"""SpeakReply: text → speech → played in the user's voice channel, sentence by sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainerbot.ports import TextToSpeech, VoiceOutput

from .language import spoken_language
from .limits import DEFAULT_LIMITS, Limits

MAX_SENTENCE_CHARS = 300

_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`]*)`")
# A link ends before trailing punctuation, which belongs to the sentence ("see https://x.org.").
_URL = re.compile(r"https?://\S*[^\s.,;:!?)\]'\"]")
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:\w+:\d+>")
_MARKUP = re.compile(r"[*_~>#|]+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def speakable(text: str) -> str:
    """What a listener should hear: no code blocks, links, mentions, emoji ids or Markdown marks."""
    text = _CODE_BLOCK.sub(" (code in the chat) ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _URL.sub(" a link ", text)
    text = _MENTION.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" ([.,;:!?)\]])", r"\1", text)  # what replacements left before punctuation
    return re.sub(r"([(\[]) ", r"\1", text).strip()


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Split into sentences; sentences longer than ``max_chars`` are cut at commas or spaces."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = sentence.strip()
        while len(sentence) > max_chars:
            cut = max(sentence.rfind(", ", 0, max_chars), sentence.rfind(" ", 0, max_chars))
            cut = cut + 1 if cut > 0 else max_chars
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars)
    return text[: cut if cut > 0 else max_chars].rstrip(" ,;:") + "… the rest is in the chat."


@dataclass(frozen=True)
class SpeakRequest:
    text: str
    target: str
    language: str | None = None


@dataclass(frozen=True)
class SpeakResult:
    sentences: int
    spoken_chars: int


class SpeakReply:
    """Speak a reply in a voice channel.

    Rules:
    - Only what makes sense aloud is spoken: code blocks, links, mentions and Markdown marks are
      replaced or dropped; a reply with nothing speakable left is not spoken (zero sentences).
    - At most ``max_spoken_chars`` are spoken; the listener is told the rest is in the chat.
    - The reply is split into sentences; each is synthesised and queued as soon as it is ready,
      so playback starts while later sentences are still being synthesised.
    - The voice output plays one guild's clips in order, never over each other.
    - It is spoken in the request's language (a voice message's, as heard), else the configured
      one; with ``auto`` and nothing heard, in English (``core.language``).
    """

    def __init__(
        self,
        *,
        text_to_speech: TextToSpeech,
        voice: VoiceOutput,
        language: str,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._tts = text_to_speech
        self._voice = voice
        self._language = language
        self._limits = limits

    async def execute(self, request: SpeakRequest) -> SpeakResult:
        text = _truncate(speakable(request.text), self._limits.max_spoken_chars)
        sentences = split_sentences(text)
        language = spoken_language(self._language, request.language)
        for sentence in sentences:
            clip = await self._tts.synthesize(sentence, language=language)
            await self._voice.enqueue(request.target, clip)
        return SpeakResult(sentences=len(sentences), spoken_chars=sum(len(s) for s in sentences))
