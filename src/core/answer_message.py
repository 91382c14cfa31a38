"""AnswerMessage: reply to a message with the active model and the conversation so far."""

from __future__ import annotations

from dataclasses import dataclass

from trainerbot.ports import ChatModel, InteractionLog, ModelRegistry, SettingsStore

from .entities import Actor, ChatMessage, Interaction, Role, Source, new_id
from .errors import EmptyMessage, MessageTooLong, ServiceError
from .limits import DEFAULT_LIMITS, Limits
from .manage_settings import system_prompt
from .rate_limit import RateLimit


@dataclass(frozen=True)
class AnswerRequest:
    conversation_id: str
    author: Actor
    text: str
    message_id: str
    source: Source = Source.TEXT


@dataclass(frozen=True)
class AnswerResult:
    interaction: Interaction

    @property
    def reply(self) -> str:
        return self.interaction.reply


class AnswerMessage:
    """Answer a user's message.

    Rules:
    - The author's rate limit comes first (``RateLimited``; see ``RateLimit``): a text message
      takes one from it, a voice message took its one when it was transcribed.
    - Empty or blank text is refused (``EmptyMessage``); text over ``max_message_chars`` too.
    - The active model answers (``!use``), or the configured default when none was chosen.
    - The model sees the system prompt (the tenant's persona, else the configured one), then the
      last ``history_turns`` exchanges of this conversation (oldest dropped first to stay under
      ``max_history_chars``), then the message.
    - An empty answer from the model is a failure, not a reply.
    - Every answer is logged as an interaction — prompt, history, model, reply, message id — before
      it is returned, so whatever the user sees can be corrected later.
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
        if self._rate_limit is not None and request.source is not Source.VOICE:
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

        reply = (await self._chat_model.complete(messages, model=model)).strip()
        if not reply:
            raise ServiceError("The model gave an empty answer; try asking another way.")

        interaction = Interaction(
            id=new_id("int"),
            conversation_id=request.conversation_id,
            author_id=request.author.id,
            message_id=request.message_id,
            prompt=text,
            reply=reply,
            model=model,
            history=tuple(history),
            source=request.source,
        )
        await self._interactions.append(interaction)
        return AnswerResult(interaction)

    async def _history(self, conversation_id: str) -> list[ChatMessage]:
        past = await self._interactions.recent(conversation_id, self._limits.history_turns)
        turns: list[tuple[ChatMessage, ChatMessage]] = [
            (ChatMessage(Role.USER, i.prompt), ChatMessage(Role.ASSISTANT, i.reply)) for i in past
        ]
        budget = self._limits.max_history_chars
        while turns and sum(len(u.content) + len(a.content) for u, a in turns) > budget:
            turns.pop(0)
        return [message for turn in turns for message in turn]
