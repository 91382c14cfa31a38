"""FeedbackStore: remarks and ratings about the bot."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from trainerbot.core.entities import Feedback


@runtime_checkable
class FeedbackStore(Protocol):
    """Append-only. Feedback is durable when ``add`` returns."""

    async def add(self, feedback: Feedback) -> None: ...

    async def all(self) -> list[Feedback]: ...
