"""Records the use-case tests share (a module of its own: ``conftest`` is in every test folder)."""

from __future__ import annotations

from trainerbot.core.entities import ChatMessage, Correction, Role


def correction(number: int) -> Correction:
    """Correction ``number``: "question n" was answered "wrong n", corrected to "right n"."""
    return Correction(
        id=f"cor-{number}",
        interaction_id=f"int-{number}",
        message_id=f"m-{number}",
        author_id="u-member",
        prompt=f"question {number}",
        wrong_answer=f"wrong {number}",
        corrected=f"right {number}",
        model="default-model",
        history=(ChatMessage(Role.USER, "hi"), ChatMessage(Role.ASSISTANT, "hello")),
    )
