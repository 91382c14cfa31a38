"""The JSON Lines stores of corrections, feedback, training jobs and models."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trainerbot.adapters.storage import (
    JsonlCorrectionStore,
    JsonlFeedbackStore,
    JsonlJobStore,
    JsonlModelRegistry,
)
from trainerbot.core.entities import (
    Correction,
    Feedback,
    JobStatus,
    Rating,
    TrainedModel,
    TrainingJob,
)
from trainerbot.core.errors import ServiceError

WHEN = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    return tmp_path / "records"


def correction(number: int) -> Correction:
    return Correction(
        id=f"cor-{number}",
        interaction_id=f"int-{number}",
        message_id=f"r-{number}",
        author_id="user-1",
        prompt="2+2?",
        wrong_answer="5",
        corrected=f"4 (take {number})",
        model="gpt-test",
        created_at=WHEN,
    )


def feedback(number: int) -> Feedback:
    return Feedback(
        id=f"fb-{number}", author_id="u", text=f"remark {number}", rating=Rating.UP, created_at=WHEN
    )


def job(job_id: str, status: JobStatus = JobStatus.QUEUED, **changes: object) -> TrainingJob:
    base = TrainingJob(
        id=job_id,
        trainer="local",
        status=JobStatus.QUEUED,
        dataset_name="reviews",
        dataset_version="abc",
        example_count=3,
        requested_by="user-1",
        created_at=WHEN,
        updated_at=WHEN,
    )
    return base.with_status(status, **changes) if status is not JobStatus.QUEUED else base


def model(model_id: str, **changes: str) -> TrainedModel:
    return TrainedModel(id=model_id, trainer="local", created_at=WHEN, **changes)


# --- feedback --------------------------------------------------------------------------------


async def test_feedback_round_trips_through_the_file(records: Path) -> None:
    sut = JsonlFeedbackStore(records / "feedback.jsonl")

    await sut.add(feedback(1))
    await sut.add(feedback(2))

    assert await JsonlFeedbackStore(records / "feedback.jsonl").all() == [feedback(1), feedback(2)]
    assert [json.loads(line)["type"] for line in (records / "feedback.jsonl").open()] == [
        "feedback",
        "feedback",
    ]


# --- jobs ------------------------------------------------------------------------------------


async def test_get_gives_the_latest_state_of_a_job(records: Path) -> None:
    sut = JsonlJobStore(records / "jobs.jsonl")
    running = job("job-1", JobStatus.RUNNING)
    done = running.with_status(JobStatus.SUCCEEDED, model="ft:x")

    await sut.save(job("job-1"))
    await sut.save(running)
    await sut.save(done)

    assert await sut.get("job-1") == done


async def test_every_state_is_kept_on_disk(records: Path) -> None:
    sut = JsonlJobStore(records / "jobs.jsonl")

    await sut.save(job("job-1"))
    await sut.save(job("job-1", JobStatus.RUNNING))

    statuses = [json.loads(line)["status"] for line in (records / "jobs.jsonl").open()]
    assert statuses == ["queued", "running"]


async def test_all_gives_latest_states_in_order_of_first_appearance(records: Path) -> None:
    sut = JsonlJobStore(records / "jobs.jsonl")
    await sut.save(job("job-a"))
    await sut.save(job("job-b"))
    await sut.save(job("job-a", JobStatus.FAILED, error="boom"))

    jobs = await JsonlJobStore(records / "jobs.jsonl").all()

    assert [(j.id, j.status) for j in jobs] == [
        ("job-a", JobStatus.FAILED),
        ("job-b", JobStatus.QUEUED),
    ]


# --- models ----------------------------------------------------------------------------------


async def test_no_model_is_active_before_any_activation(records: Path) -> None:
    sut = JsonlModelRegistry(records / "models.jsonl")
    await sut.register(model("m-1"))

    assert await sut.active() is None


async def test_activations_are_appended_records(records: Path) -> None:
    sut = JsonlModelRegistry(records / "models.jsonl")

    await sut.activate("m-1")

    last = json.loads((records / "models.jsonl").read_text().splitlines()[-1])
    assert last == {"type": "activate", "v": 1, "model_id": "m-1"}


# --- damage and failures ---------------------------------------------------------------------


async def test_a_store_skips_damaged_records_and_keeps_the_rest(records: Path) -> None:
    path = records / "jobs.jsonl"
    await JsonlJobStore(path).save(job("job-1"))
    with path.open("a") as handle:
        handle.write('{"type":"job","v":1,"id":"job-2","status":"exploded"}\n')
        handle.write('{"type":"job","v":99,"id":"job-3"}\n')
        handle.write("not json at all\n")
    await JsonlJobStore(path).save(job("job-4"))

    sut = JsonlJobStore(path)

    assert [j.id for j in await sut.all()] == ["job-1", "job-4"]


async def test_a_full_disk_becomes_a_user_safe_service_error_and_stores_nothing(
    records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sut = JsonlCorrectionStore(records / "corrections.jsonl")

    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(records))

    with monkeypatch.context() as patch:
        patch.setattr(os, "write", full_disk)
        with pytest.raises(ServiceError, match="disk is full") as caught:
            await sut.add(correction(1))

    assert str(records) not in str(caught.value)
    assert await sut.all() == []
    assert await JsonlCorrectionStore(records / "corrections.jsonl").all() == []


async def test_an_unreadable_records_file_becomes_a_service_error(tmp_path: Path) -> None:
    blocker = tmp_path / "records"
    blocker.write_text("a file where the records folder should be")
    sut = JsonlCorrectionStore(blocker / "corrections.jsonl")

    with pytest.raises(ServiceError) as caught:
        await sut.all()

    assert str(tmp_path) not in str(caught.value)


async def test_after_durable_writes_every_store_reloads_the_same_state(records: Path) -> None:
    jobs = JsonlJobStore(records / "jobs.jsonl")
    registry = JsonlModelRegistry(records / "models.jsonl")
    await jobs.save(job("job-1"))
    await jobs.save(job("job-1", JobStatus.SUCCEEDED, model="m-1"))
    await registry.register(model("m-1"))
    await registry.activate("m-1")

    fresh_jobs = JsonlJobStore(records / "jobs.jsonl")
    fresh_registry = JsonlModelRegistry(records / "models.jsonl")

    assert await fresh_jobs.all() == await jobs.all()
    assert await fresh_registry.models() == await registry.models()
    assert await fresh_registry.active() == await registry.active()
