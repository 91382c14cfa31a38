"""Embeddings: texts → vectors, for retrieving similar examples and classifying by meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Embeddings(Protocol):
    """One vector per text, in order; vectors of one model have one length and compare by cosine.

    ``name`` identifies the embedding model (``all-MiniLM-L6-v2``, ``openai:text-embedding-3-small``):
    vectors made by models of different names do not compare, so whatever keeps vectors (a trained
    model) records the name and refuses vectors of another.
    """

    @property
    def name(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
