"""Helpers of the learning adapter tests: the labelled dataset, jobs and specs as TrainModel makes
them, and an embeddings adapter that needs no network."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

from trainerbot.core.datasets import build_dataset, parse_text
from trainerbot.core.entities import (
    Dataset,
    Example,
    JobStatus,
    Task,
    TrainingJob,
    TrainingSpec,
)
from trainerbot.core.errors import TrainerbotError
from trainerbot.ports import Embeddings

SUPPORT_DATA = Path(__file__).parents[2] / "data" / "support_requests_labelled.csv"
BASE_MODEL = "base-chat"
BASE_REPLY = "base model says hello"


def support_dataset() -> Dataset:
    """The repository's labelled dataset, read and de-duplicated as TrainModel reads an upload."""
    parsed = parse_text(SUPPORT_DATA.read_text("utf-8"), filename=SUPPORT_DATA.name)
    assert not parsed.problems, parsed.problems
    dataset, _ = build_dataset("support-requests", parsed, source=SUPPORT_DATA.name)
    return dataset


def chat_dataset(*examples: Example, name: str = "corrections") -> Dataset:
    return Dataset(name=name, task=Task.CHAT, examples=examples)


def job_for(
    dataset: Dataset, *, trainer: str = "fewshot", job_id: str = "job-0123456789ab"
) -> TrainingJob:
    return TrainingJob(
        id=job_id,
        trainer=trainer,
        status=JobStatus.VALIDATING,
        dataset_name=dataset.name,
        dataset_version=dataset.version,
        example_count=len(dataset.examples),
        requested_by="u1",
    )


def spec_for(dataset: Dataset, *, validation: Dataset | None = None) -> TrainingSpec:
    return TrainingSpec(dataset=dataset, validation=validation, suffix=dataset.name[:18])


class HashingEmbeddings(Embeddings):
    """Bag-of-words vectors (each word hashed to one of ``size`` axes): texts sharing words are
    near, others far. Records every call; ``fail_with`` makes calls raise."""

    def __init__(self, size: int = 64, *, fail_with: TrainerbotError | None = None) -> None:
        self.size = size
        self.fail_with = fail_with
        self.calls: list[list[str]] = []

    @property
    def name(self) -> str:
        return f"hashing-{self.size}"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        if self.fail_with is not None:
            raise self.fail_with
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.size
        for word in text.casefold().replace("?", " ").split():
            vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.size] += 1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]
