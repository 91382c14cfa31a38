"""Entities survive a trip through their JSON records, and a JSON encoder, unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from trainerbot.adapters import _records as sut
from trainerbot.core.entities import (
    ChatMessage,
    Correction,
    Dataset,
    Example,
    Feedback,
    Interaction,
    JobStatus,
    Rating,
    Role,
    Source,
    Task,
    TrainedModel,
    TrainingJob,
)

WHEN = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
HISTORY = (ChatMessage(Role.SYSTEM, "Be brief."), ChatMessage(Role.ASSISTANT, "Hi ✓"))


def through_json(record: dict[str, Any]) -> dict[str, Any]:
    """What a record looks like after being written to and read from a file."""
    loaded: dict[str, Any] = json.loads(json.dumps(record, ensure_ascii=False))
    return loaded


def make_interaction(**changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "id": "int-1",
        "conversation_id": "chan-1",
        "author_id": "user-1",
        "message_id": "m-1",
        "prompt": "What is 2+2?",
        "reply": "5",
        "model": "gpt-test",
        "history": HISTORY,
        "source": Source.VOICE,
        "reply_message_ids": ("r-1", "r-2"),
        "created_at": WHEN,
    }
    values.update(changes)
    return Interaction(**values)


def test_interaction_round_trips() -> None:
    interaction = make_interaction()

    record = through_json(sut.interaction_to_record(interaction))

    assert sut.interaction_from_record(record) == interaction


def test_every_record_carries_its_type_and_version() -> None:
    record = sut.interaction_to_record(make_interaction())

    assert (record["type"], record["v"]) == ("interaction", 1)


def test_datetimes_are_stored_as_iso_8601_with_timezone() -> None:
    record = sut.interaction_to_record(make_interaction())

    assert record["created_at"] == "2025-03-04T05:06:07.890123+00:00"


def test_a_non_utc_timezone_is_kept() -> None:
    moment = datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))

    record = through_json(sut.interaction_to_record(make_interaction(created_at=moment)))

    loaded = sut.interaction_from_record(record).created_at
    assert loaded == moment
    assert loaded.utcoffset() == timedelta(hours=2)


def test_a_naive_datetime_is_taken_as_utc() -> None:
    naive = datetime(2025, 1, 1, 12)

    record = sut.interaction_to_record(make_interaction(created_at=naive))

    assert sut.interaction_from_record(record).created_at == naive.replace(tzinfo=UTC)


def test_enums_and_message_tuples_are_stored_as_plain_values() -> None:
    record = sut.interaction_to_record(make_interaction())

    assert record["source"] == "voice"
    assert record["history"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "assistant", "content": "Hi ✓"},
    ]
    assert record["reply_message_ids"] == ["r-1", "r-2"]


def test_reply_link_round_trips() -> None:
    record = through_json(sut.reply_link_record("int-1", "r-9"))

    assert record["type"] == "reply_link"
    assert sut.reply_link_from_record(record) == ("int-1", "r-9")


def test_correction_round_trips() -> None:
    correction = Correction(
        id="cor-1",
        interaction_id="int-1",
        message_id="r-1",
        author_id="user-2",
        prompt="What is 2+2?",
        wrong_answer="5",
        corrected="4",
        model="gpt-test",
        history=HISTORY,
        created_at=WHEN,
    )

    record = through_json(sut.correction_to_record(correction))

    assert sut.correction_from_record(record) == correction


@pytest.mark.parametrize(
    "feedback",
    [
        Feedback(id="fb-1", author_id="u", text="great", created_at=WHEN),
        Feedback(
            id="fb-2",
            author_id="u",
            text="wrong",
            rating=Rating.DOWN,
            interaction_id="int-1",
            message_id="r-1",
            created_at=WHEN,
        ),
    ],
)
def test_feedback_round_trips(feedback: Feedback) -> None:
    record = through_json(sut.feedback_to_record(feedback))

    assert sut.feedback_from_record(record) == feedback


@pytest.mark.parametrize(
    "job",
    [
        TrainingJob(
            id="job-1",
            trainer="local",
            status=JobStatus.QUEUED,
            dataset_name="reviews",
            dataset_version="abc123",
            example_count=12,
            requested_by="user-1",
            created_at=WHEN,
            updated_at=WHEN,
        ),
        TrainingJob(
            id="job-2",
            trainer="openai",
            status=JobStatus.FAILED,
            dataset_name="reviews",
            dataset_version="abc123",
            example_count=12,
            requested_by="user-1",
            base_model="gpt-base",
            provider_job_id="ftjob-9",
            model="ft:gpt-base:x",
            error="quota exceeded",
            origin="discord:channel=42;message=43",
            created_at=WHEN,
            updated_at=WHEN + timedelta(minutes=5),
        ),
    ],
)
def test_training_job_round_trips(job: TrainingJob) -> None:
    record = through_json(sut.job_to_record(job))

    assert sut.job_from_record(record) == job


def test_a_job_recorded_before_origins_were_kept_reads_without_one() -> None:
    record = through_json(
        sut.job_to_record(TrainingJob("job-1", "local", JobStatus.QUEUED, "d", "v", 1, "u"))
    )
    del record["origin"]

    assert sut.job_from_record(record).origin is None


def test_trained_model_round_trips() -> None:
    model = TrainedModel(
        id="ft:gpt-base:x",
        trainer="openai",
        job_id="job-2",
        dataset_version="abc123",
        base_model="gpt-base",
        created_at=WHEN,
    )

    record = through_json(sut.model_to_record(model))

    assert sut.model_from_record(record) == model


def test_activation_round_trips() -> None:
    record = through_json(sut.activate_record("ft:gpt-base:x"))

    assert record["type"] == "activate"
    assert sut.activate_from_record(record) == "ft:gpt-base:x"


def test_dataset_round_trips_with_a_header_and_plain_example_lines() -> None:
    dataset = Dataset(
        name="reviews",
        task=Task.CHAT,
        source="datasets/reviews",
        examples=(
            Example.single_turn("hi", "hello", origin="line 1"),
            Example(prompt=(*HISTORY, ChatMessage(Role.USER, "2+2?")), completion="4"),
            Example.single_turn("2+2?", "4", rejected="5"),
            Example.single_turn("insult me", "no", wanted=False),
        ),
    )

    records = [through_json(record) for record in sut.dataset_to_records(dataset)]

    assert records[0] == {
        "type": "dataset",
        "v": 1,
        "name": "reviews",
        "task": "chat",
        "version": dataset.version,
        "source": "datasets/reviews",
        "example_count": 4,
    }
    assert records[1:] == [example.to_dict() for example in dataset.examples]
    assert sut.dataset_from_records(records) == dataset


def test_generic_to_record_and_from_record_dispatch_on_type() -> None:
    interaction = make_interaction()

    assert sut.from_record(through_json(sut.to_record(interaction))) == interaction


@pytest.mark.parametrize(
    "damage",
    [
        {"type": "feedback"},
        {"v": 2},
        {"v": None},
        {"created_at": "yesterday"},
        {"prompt": 42},
        {"source": "telepathy"},
        {"history": [{"role": "god", "content": "x"}]},
        {"reply_message_ids": "r-1"},
    ],
)
def test_a_damaged_record_raises_record_error(damage: dict[str, Any]) -> None:
    record = {**sut.interaction_to_record(make_interaction()), **damage}

    with pytest.raises(sut.RecordError):
        sut.interaction_from_record(record)


def test_from_record_refuses_an_unknown_type() -> None:
    with pytest.raises(sut.RecordError):
        sut.from_record({"type": "mystery", "v": 1})


def test_a_job_count_must_be_an_integer_not_a_boolean() -> None:
    job = TrainingJob(
        id="j",
        trainer="t",
        status=JobStatus.RUNNING,
        dataset_name="d",
        dataset_version="v",
        example_count=1,
        requested_by="u",
    )
    record = {**sut.job_to_record(job), "example_count": True}

    with pytest.raises(sut.RecordError):
        sut.job_from_record(record)
