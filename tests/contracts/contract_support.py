"""What the contract suites share: the records they store, and how an implementation is opened.

A contract suite states a port's promises once and runs them against every implementation of the
port: the in-memory fake the use-case tests rely on, and the real adapter(s). An implementation is
given to a test as an *opener*: a function that opens the store. Calling it again "reopens" the
store: a fresh instance over the same files for a real adapter (so a test proves what it wrote is
durable), the very same object for an in-memory fake (whose records live as long as it does).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from trainerbot.core.entities import (
    ChatMessage,
    Correction,
    Feedback,
    Interaction,
    JobStatus,
    Rating,
    Role,
    TrainingJob,
)

T = TypeVar("T")
Opener = Callable[[], T]

START = datetime(2025, 1, 1, tzinfo=UTC)


def same_instance(store: T) -> Opener[T]:
    """The opener of an in-memory store: reopening it gives the same object back."""
    return lambda: store


def interaction(number: int, conversation: str = "chan-1", **changes: Any) -> Interaction:
    """Interaction ``number``: message ``m-n`` asked "question n", answered "answer n"."""
    values: dict[str, Any] = {
        "id": f"int-{number}",
        "conversation_id": conversation,
        "author_id": "user-1",
        "message_id": f"m-{number}",
        "prompt": f"question {number}",
        "reply": f"answer {number}",
        "model": "gpt-test",
        "history": (ChatMessage(Role.USER, "hi"), ChatMessage(Role.ASSISTANT, "hello")),
        "created_at": START + timedelta(minutes=number),
    }
    values.update(changes)
    return Interaction(**values)


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
        created_at=START + timedelta(minutes=number),
    )


def feedback(number: int, **changes: Any) -> Feedback:
    values: dict[str, Any] = {
        "id": f"fb-{number}",
        "author_id": "u-member",
        "text": f"remark {number}",
        "rating": Rating.UP if number % 2 else Rating.DOWN,
        "interaction_id": f"int-{number}",
        "message_id": f"m-{number}",
        "created_at": START + timedelta(minutes=number),
    }
    values.update(changes)
    return Feedback(**values)


def job(job_id: str, status: JobStatus = JobStatus.VALIDATING, **changes: Any) -> TrainingJob:
    values: dict[str, Any] = {
        "id": job_id,
        "trainer": "memory",
        "status": status,
        "dataset_name": "reviews",
        "dataset_version": "1a2b3c4d5e6f",
        "example_count": 42,
        "requested_by": "u-trainer",
        "created_at": START,
        "updated_at": START,
    }
    values.update(changes)
    return TrainingJob(**values)
