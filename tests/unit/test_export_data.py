"""ExportData: datasets, corrections and unreviewed 👎 answers as JSON Lines in exports/."""

from __future__ import annotations

import json
from typing import Any

import pytest
from records_support import correction

from trainerbot.adapters.memory import (
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryFeedbackStore,
    InMemoryInteractionLog,
    InMemoryWorkspace,
)
from trainerbot.core.datasets import build_dataset, parse_text
from trainerbot.core.entities import (
    Actor,
    Dataset,
    Example,
    Feedback,
    Interaction,
    Rating,
    Task,
)
from trainerbot.core.errors import EmptyDataset, PermissionDenied, UnknownDataset
from trainerbot.core.export_data import ExportData, ExportRequest


@pytest.fixture
def sut(
    datasets: InMemoryDatasetStore,
    corrections: InMemoryCorrectionStore,
    feedback: InMemoryFeedbackStore,
    interactions: InMemoryInteractionLog,
    workspace: InMemoryWorkspace,
) -> ExportData:
    return ExportData(
        datasets=datasets,
        corrections=corrections,
        feedback=feedback,
        interactions=interactions,
        workspace=workspace,
    )


def lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def answered(number: int) -> Interaction:
    return Interaction(
        id=f"int-{number}",
        conversation_id="c",
        author_id="u-member",
        message_id=f"m-{number}",
        prompt=f"question {number}",
        reply=f"answer {number}",
        model="base",
    )


async def test_corrections_become_chat_examples_and_preference_pairs_that_train_reads_back(
    sut: ExportData,
    corrections: InMemoryCorrectionStore,
    workspace: InMemoryWorkspace,
    trainer: Actor,
) -> None:
    for number in (1, 2):
        await corrections.add(correction(number))

    result = await sut.execute(ExportRequest(actor=trainer))

    supervised, preference = (exported.file for exported in result.files)
    assert [exported.lines for exported in result.files] == [2, 2]
    assert supervised.path.startswith("exports/corrections")
    assert workspace.files[supervised.path] == supervised.data
    # As Correction.example builds it: "question 1" stands alone, without the greeting before it.
    assert lines(supervised.data)[0] == {
        "messages": [
            {"role": "user", "content": "question 1"},
            {"role": "assistant", "content": "right 1"},
        ]
    }
    assert lines(preference.data)[1]["non_preferred_output"] == [
        {"role": "assistant", "content": "wrong 2"}
    ]
    # What was exported is a dataset !train reads: the same examples, nothing lost.
    for data in (supervised.data, preference.data):
        parsed = parse_text(data.decode(), filename="export.jsonl")
        assert parsed.problems == ()
        assert [e.completion for e in parsed.examples] == ["right 1", "right 2"]
    reread = parse_text(preference.data.decode(), filename="p.jsonl")
    assert [e.rejected for e in reread.examples] == ["wrong 1", "wrong 2"]


async def test_only_thumbs_down_answers_nobody_corrected_are_listed_for_review(
    sut: ExportData,
    corrections: InMemoryCorrectionStore,
    feedback: InMemoryFeedbackStore,
    interactions: InMemoryInteractionLog,
    trainer: Actor,
) -> None:
    for number in (1, 2, 3):
        await interactions.append(answered(number))
    await corrections.add(correction(1))
    await feedback.add(Feedback("f1", "u", "", Rating.DOWN, message_id="m-1"))  # corrected
    await feedback.add(Feedback("f2", "u", "too vague", Rating.DOWN, message_id="m-2"))
    await feedback.add(Feedback("f3", "u", "", Rating.UP, message_id="m-3"))  # liked
    await feedback.add(Feedback("f4", "u", "more jokes please"))  # a remark, no answer

    result = await sut.execute(ExportRequest(actor=trainer))

    review = result.files[-1]
    assert review.what == "1 👎 answer with no correction yet, to review"
    [line] = lines(review.file.data)
    assert {k: line[k] for k in ("feedback", "question", "answer", "remark")} == {
        "feedback": "f2",
        "question": "question 2",
        "answer": "answer 2",
        "remark": "too vague",
    }


async def test_a_saved_dataset_is_exported_in_its_own_format(
    sut: ExportData, datasets: InMemoryDatasetStore, trainer: Actor
) -> None:
    labelled = Dataset(
        "reviews",
        Task.CLASSIFICATION,
        (Example.single_turn("great", "positive"), Example.single_turn("awful", "negative")),
    )
    await datasets.save(labelled)

    [exported] = (await sut.execute(ExportRequest(actor=trainer, dataset="reviews"))).files

    assert exported.file.path.startswith(f"exports/reviews-{labelled.version}")
    assert lines(exported.file.data) == [
        {"text": "great", "label": "positive"},
        {"text": "awful", "label": "negative"},
    ]
    parsed = parse_text(exported.file.data.decode(), filename="x.jsonl")
    rebuilt, _ = build_dataset("reviews", parsed, source="")
    assert rebuilt.version == labelled.version


async def test_refusals_change_nothing(
    sut: ExportData,
    datasets: InMemoryDatasetStore,
    workspace: InMemoryWorkspace,
    trainer: Actor,
    member: Actor,
    refuses,
) -> None:
    await datasets.save(Dataset("chats", Task.CHAT, (Example.single_turn("q", "a"),)))
    with refuses(PermissionDenied):
        await sut.execute(ExportRequest(actor=member))
    with refuses(UnknownDataset) as caught:
        await sut.execute(ExportRequest(actor=trainer, dataset="nope"))
    assert "chats" in str(caught.value)
    with refuses(EmptyDataset):
        await sut.execute(ExportRequest(actor=trainer))
    assert workspace.exported == []
