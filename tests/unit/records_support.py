"""Records the use-case tests share (a module of its own: ``conftest`` is in every test folder)."""

from __future__ import annotations

from trainerbot.core.datasets import ValidationReport
from trainerbot.core.entities import NEGATIVE, POSITIVE, ChatMessage, Correction, Role, Task


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


# A valid report with nothing to note: tests replace() what they are about.
CLEAN_REPORT = ValidationReport(
    dataset_name="reviews",
    dataset_version="1a2b3c4d5e6f",
    task=Task.CLASSIFICATION,
    example_count=42,
    train_count=34,
    test_count=8,
    labels=(NEGATIVE, POSITIVE),
    problems=(),
    duplicates=0,
    leaked=0,
    min_examples=10,
)
