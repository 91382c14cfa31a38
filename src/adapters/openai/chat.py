"""OpenAIChatModel: chat completions on OpenAI or any OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk

from trainerbot.core.entities import ChatMessage
from trainerbot.core.errors import ServiceError
from trainerbot.ports import ChatModel

from .errors import OPENAI_ERRORS, translate


class OpenAIChatModel(ChatModel):
    """Answers with ``chat.completions``.

    ``temperature`` None leaves the server's default (some models accept no other). The answer
    length limit is sent as ``max_completion_tokens`` to OpenAI itself and as ``max_tokens`` to
    other servers, which mostly know only the older name.

    ``stream`` asks the server for the same completion with ``stream=True`` and yields each
    chunk's text as it arrives; an error before the first chunk is mapped as ``complete``'s are,
    and a connection lost mid-answer is a ``ServiceError``. Stopping early closes the response,
    so the server stops writing.
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

    async def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        try:
            chunks = cast(
                AsyncStream[ChatCompletionChunk],
                await self._client.chat.completions.create(
                    model=model,
                    messages=[m.to_dict() for m in messages],  # type: ignore[misc]
                    stream=True,
                    **self._options,
                ),
            )
        except OPENAI_ERRORS as error:
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=model
            ) from None
        try:
            if "text/event-stream" not in chunks.response.headers.get("content-type", ""):
                # Not a stream of events (a proxy's error page, a broken server): nothing in it
                # can be read as an answer.
                raise ServiceError(f"{self._service} sent an answer I could not read.")
            async for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content
        except OPENAI_ERRORS as error:
            raise translate(
                error, secret=self._client.api_key, service=self._service, model=model
            ) from None
        finally:
            await chunks.close()
