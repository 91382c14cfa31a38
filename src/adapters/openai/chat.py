"""OpenAIChatModel: chat completions on OpenAI or any OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openai import AsyncOpenAI

from trainerbot.core.entities import ChatMessage
from trainerbot.ports import ChatModel

from .errors import OPENAI_ERRORS, translate


class OpenAIChatModel(ChatModel):
    """Answers with ``chat.completions``.

    ``temperature`` None leaves the server's default (some models accept no other). The answer
    length limit is sent as ``max_completion_tokens`` to OpenAI itself and as ``max_tokens`` to
    other servers, which mostly know only the older name.
    """

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        service: str,
        temperature: float | None = None,
        max_tokens: int | None = None,
        legacy_max_tokens: bool = False,
    ) -> None:
        self._client = client
        self._service = service
        self._options: dict[str, Any] = {}
        if temperature is not None:
            self._options["temperature"] = temperature
        if max_tokens is not None:
            self._options["max_tokens" if legacy_max_tokens else "max_completion_tokens"] = (
                max_tokens
            )

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=[m.to_dict() for m in messages],  # type: ignore[misc]
                **self._options,
            )
        except OPENAI_ERRORS as error:
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=model
            ) from None
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""
