"""OpenAIEmbeddings: texts → vectors with the embeddings endpoint, in batches."""

from __future__ import annotations

from collections.abc import Sequence

from openai import AsyncOpenAI

from trainerbot.core.errors import ServiceError
from trainerbot.ports import Embeddings

from .client import as_subject
from .errors import OPENAI_ERRORS, translate

BATCH = 256  # well under the endpoint's 2048 inputs a request


class OpenAIEmbeddings(Embeddings):
    def __init__(self, client: AsyncOpenAI, *, model: str, service: str) -> None:
        self._client = client
        self._model = model
        self._service = service

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            # The endpoint refuses empty strings; a blank text still needs its place in the order.
            batch = [text if text.strip() else " " for text in texts[start : start + BATCH]]
            try:
                response = await self._client.embeddings.create(model=self._model, input=batch)
            except OPENAI_ERRORS as error:
                raise translate(
                    error, secret=self._client.api_key, service=self._service, model=self._model
                ) from None
            ordered = sorted(response.data, key=lambda item: item.index)
            if [item.index for item in ordered] != list(range(len(batch))):
                # A vector short would shift every later text onto another text's vector.
                raise ServiceError(
                    f"{as_subject(self._service)} sent {len(ordered)} embeddings for {len(batch)} texts."
                )
            vectors.extend(list(item.embedding) for item in ordered)
        return vectors
