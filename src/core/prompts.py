"""What the model is told around the data, shared by training and testing so both say the same."""

from __future__ import annotations

from collections.abc import Sequence

from .entities import ChatMessage, Role


def classification_instruction(labels: Sequence[str]) -> ChatMessage:
    """The system message that turns a chat model into a classifier over ``labels``.

    Fine-tuning data and tests both carry it: a model trained with it is tested with it.
    """
    return ChatMessage(
        Role.SYSTEM, f"Classify the text. Answer with exactly one of: {', '.join(labels)}."
    )
