"""AnswerMessage: reply to a message with the active model and the conversation so far, whole
(``execute``) or as the model writes it (``stream``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from trainerbot.ports import ChatModel, InteractionLog, ModelRegistry, SettingsStore

from .entities import Actor, ChatMessage, Interaction, Role, Source, new_id
from .errors import EmptyMessage, MessageTooLong, ServiceError
from .limits import DEFAULT_LIMITS, Limits
from .manage_settings import system_prompt
from .rate_limit import RateLimit
from .unwanted import UnwantedAnswers


@dataclass(frozen=True)
class AnswerRequest:
    """A typed message to answer. (A voice message is answered by ``AnswerVoiceMessage``, which
    transcribes it first.)"""

    conversation_id: str
    author: Actor
    text: str
    message_id: str


@dataclass(frozen=True)
class AnswerResult:
    interaction: Interaction

    @property
    def reply(self) -> str:
        return self.interaction.reply


@dataclass(frozen=True)
class _Prepared:
    """A message accepted for answering: what the model is asked, and what is logged with it."""

    request: AnswerRequest
    source: Source
    text: str
    model: str
    history: tuple[ChatMessage, ...]
    messages: tuple[ChatMessage, ...]
    unwanted: UnwantedAnswers


class AnswerStream:
    """An answer while the model writes it.

    Rules:
    - ``async for piece in answer`` gives the text as it may be shown, in pieces: the pieces
      joined are the final reply, exactly what ``execute`` would have answered. Spaces around
      the answer are never given, and text that may still become an answer marked unwanted is
      held back — so an unwanted answer is never shown, not even in part.
    - The interaction is logged once the whole answer is known, before its last piece is
      given; ``result`` is then set (reading it earlier raises ``RuntimeError``).
    - A model failure is raised from the iteration, where it happens; nothing is logged. A
      consumer that stops early (``aclose``, cancellation) stops the model; nothing is logged.
    - It can be iterated once. ``text`` is what was given so far.
    """

    def __init__(
        self,
        pieces: AsyncIterator[str],
        unwanted: UnwantedAnswers,
        finish: Callable[[str], Awaitable[AnswerResult]],
    ) -> None:
        self._pieces = pieces
        self._unwanted = unwanted
        self._finish = finish
        self._result: AnswerResult | None = None
        self._started = False
        self.text = ""

    @property
    def result(self) -> AnswerResult:
        if self._result is None:
            raise RuntimeError("The answer is not finished yet.")
        return self._result

    @property
    def finished(self) -> bool:
        return self._result is not None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._started:
            raise RuntimeError("An answer stream can be read once.")
        self._started = True
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        written = ""
        try:
            async for piece in self._pieces:
                written += piece
                visible = written.strip()
                if self._unwanted.may_become(visible):
                    continue
                if len(visible) > len(self.text):
                    new, self.text = visible[len(self.text) :], visible
                    yield new
        finally:
            close = getattr(self._pieces, "aclose", None)
            if close is not None:
                await close()
        reply = _final_reply(written, self._unwanted)
        self._result = await self._finish(reply)
        if reply.startswith(self.text) and len(reply) > len(self.text):
            new, self.text = reply[len(self.text) :], reply
            yield new


def _final_reply(written: str, unwanted: UnwantedAnswers) -> str:
    """The model's answer as it is logged and shown (the rules of ``AnswerMessage``)."""
    reply = written.strip()
    if not reply:
        raise ServiceError("The model gave an empty answer; try asking another way.")
    return unwanted.withhold(reply)


class AnswerMessage:
    """Answer a user's message.

    Rules:
    - The author's rate limit comes first (``RateLimited``; see ``RateLimit``): a typed message
      takes one from it; a voice message took its one when it was transcribed
      (``AnswerVoiceMessage`` answers it — no request can say it is one).
    - Empty or blank text is refused (``EmptyMessage``); text over ``max_message_chars`` too.
    - The active model answers (``!use``), or the configured default when none was chosen.
    - The model sees the system prompt (the tenant's persona, else the configured one), then the
      last ``history_turns`` exchanges of this conversation (oldest dropped first to stay under
      ``max_history_chars``), then the message.
    - An empty answer from the model is a failure, not a reply.
    - An answer the model was taught not to give to this question (``ChatModel.unwanted``) is
      never given: ``WITHHELD_REPLY`` is, instead (``core.unwanted``).
    - Every answer is logged as an interaction — prompt, history, model, reply, message id — before
      it is returned, so whatever the user sees can be corrected later.
    - ``execute`` answers whole; ``stream`` gives an ``AnswerStream`` of the same answer as it
      is written. Every refusal above (rate limit, empty or long text, an unknown model) is
      raised by ``stream`` itself, before any text.
    """

    def __init__(
        self,
        *,
        chat_model: ChatModel,
        interactions: InteractionLog,
        models: ModelRegistry,
        default_model: str,
        system_prompt: str,
        limits: Limits = DEFAULT_LIMITS,
        rate_limit: RateLimit | None = None,
        settings: SettingsStore | None = None,
    ) -> None:
        self._settings = settings
        self._rate_limit = rate_limit
        self._chat_model = chat_model
        self._interactions = interactions
        self._models = models
        self._default_model = default_model
        self._system_prompt = system_prompt
        self._limits = limits

    async def execute(self, request: AnswerRequest) -> AnswerResult:
        return await self._execute(await self._prepare(request, Source.TEXT))

    async def stream(self, request: AnswerRequest) -> AnswerStream:
        return self._stream(await self._prepare(request, Source.TEXT))

    # --- for AnswerVoiceMessage, which took the rate limit when it transcribed --------------

    async def _execute_heard(self, request: AnswerRequest) -> AnswerResult:
        return await self._execute(await self._prepare(request, Source.VOICE))

    async def _stream_heard(self, request: AnswerRequest) -> AnswerStream:
        return self._stream(await self._prepare(request, Source.VOICE))

    # --- the steps ---------------------------------------------------------------------------

    async def _prepare(self, request: AnswerRequest, source: Source) -> _Prepared:
        if self._rate_limit is not None and source is Source.TEXT:
            self._rate_limit.take(request.author)
        text = request.text.strip()
        if not text:
            raise EmptyMessage()
        if len(text) > self._limits.max_message_chars:
            raise MessageTooLong(
                f"That message is {len(text)} characters; the limit is "
                f"{self._limits.max_message_chars}."
            )
        model = await self._models.active() or self._default_model
        history = await self._history(request.conversation_id)
        messages: list[ChatMessage] = []
        prompt = await system_prompt(self._settings, self._system_prompt)
        if prompt:
            messages.append(ChatMessage(Role.SYSTEM, prompt))
        messages.extend(history)
        messages.append(ChatMessage(Role.USER, text))
        unwanted = UnwantedAnswers(await self._chat_model.unwanted(messages, model=model))
        return _Prepared(request, source, text, model, tuple(history), tuple(messages), unwanted)

    async def _execute(self, prepared: _Prepared) -> AnswerResult:
        written = await self._chat_model.complete(prepared.messages, model=prepared.model)
        return await self._log(prepared, _final_reply(written, prepared.unwanted))

    def _stream(self, prepared: _Prepared) -> AnswerStream:
        pieces = self._chat_model.stream(prepared.messages, model=prepared.model)

        async def finish(reply: str) -> AnswerResult:
            return await self._log(prepared, reply)

        return AnswerStream(pieces, prepared.unwanted, finish)

    async def _log(self, prepared: _Prepared, reply: str) -> AnswerResult:
        interaction = Interaction(
            id=new_id("int"),
            conversation_id=prepared.request.conversation_id,
            author_id=prepared.request.author.id,
            message_id=prepared.request.message_id,
            prompt=prepared.text,
            reply=reply,
            model=prepared.model,
            history=prepared.history,
            source=prepared.source,
        )
        await self._interactions.append(interaction)
        return AnswerResult(interaction)

    async def _history(self, conversation_id: str) -> Sequence[ChatMessage]:
        past = await self._interactions.recent(conversation_id, self._limits.history_turns)
        turns: list[tuple[ChatMessage, ChatMessage]] = [
            (ChatMessage(Role.USER, i.prompt), ChatMessage(Role.ASSISTANT, i.reply)) for i in past
        ]
        budget = self._limits.max_history_chars
        while turns and sum(len(u.content) + len(a.content) for u, a in turns) > budget:
            turns.pop(0)
        return [message for turn in turns for message in turn]
