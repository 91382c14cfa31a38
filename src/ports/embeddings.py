"""Embeddings: texts → vectors, for retrieving similar examples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embeddings(Protocol):
    """One vector per text, in order; vectors of one model have one length and compare by cosine."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
