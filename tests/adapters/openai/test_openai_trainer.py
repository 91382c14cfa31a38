"""OpenAIModelTrainer against the fake OpenAI server: the upload, the job it creates, following
the job to its fine-tuned model, and the refusals it turns into clear sentences."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from fake_openai import FakeOpenAI, Recorded
from openai import AsyncOpenAI
from openai_adapter_support import (
    API_KEY,
    TUNABLE_MODEL,
    assert_names_server,
    assert_one_clear_line,
    chat_dataset,
    job_for,
    jsonl_lines,
    preference_dataset,
    spec_for,
)

from trainerbot.adapters.memory import (
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemoryWorkspace,
)
from trainerbot.adapters.openai import OpenAIModelTrainer, make_client, service_name
from trainerbot.adapters.openai.trainer import estimate_epochs
from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.core.entities import (
    Actor,
    Dataset,
    Example,
    JobStatus,
    LossPoint,
    Task,
    TrainingJob,
)
from trainerbot.core.errors import (
    CapabilityUnavailable,
    DatasetInvalid,
    InvalidInput,
    ServiceError,
    TrainerbotError,
)
from trainerbot.core.prompts import classification_instruction
from trainerbot.core.tokens import BillingEstimate, TrainingTokens
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.ports import LossCurveSource


def trainer(
    client: AsyncOpenAI, server: FakeOpenAI, *, file_timeout: float = 5.0
) -> OpenAIModelTrainer:
    return OpenAIModelTrainer(
        client,
        base_model=TUNABLE_MODEL,
        service=service_name(server.base_url),
        poll_interval=0.01,
        file_timeout=file_timeout,
    )


@pytest.fixture
def sut(client: AsyncOpenAI, openai_server: FakeOpenAI) -> OpenAIModelTrainer:
    return trainer(client, openai_server)


async def start(
    sut: OpenAIModelTrainer, train: Dataset | None = None, **spec_options: Any
) -> TrainingJob:
    train = train or chat_dataset()
    return await sut.start(spec_for(train, **spec_options), job=job_for(train))


async def refreshed(sut: OpenAIModelTrainer, job: TrainingJob, times: int) -> list[TrainingJob]:
    """The job after each of `times` refreshes (each moves the fake's job one status on)."""
    seen = []
    for _ in range(times):
        job = await sut.refresh(job)
        seen.append(job)
    return seen


def uploads(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/files", "POST")


def job_creations(server: FakeOpenAI) -> list[Recorded]:
    return server.requests_to("/fine_tuning/jobs", "POST")


def fine_tune_files(server: FakeOpenAI) -> list[str]:
    return [f.id for f in server.files.values() if f.purpose == "fine-tune"]


# --- the upload ---------------------------------------------------------------------------------


async def test_training_file_is_uploaded_for_fine_tuning_as_chat_jsonl_of_the_examples(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    await start(sut, chat_dataset(20))

    [upload] = uploads(openai_server)
    assert upload.form["purpose"] == "fine-tune"
    assert upload.filename == "job-1-train.jsonl"
    assert jsonl_lines(upload.file) == [
        {
            "messages": [
                {"role": "user", "content": f"q{i}"},
                {"role": "assistant", "content": f"a{i}"},
            ]
        }
        for i in range(20)
    ]


async def test_validation_file_is_uploaded_and_named_in_the_job_when_big_enough(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    validation = chat_dataset(10, name="reviews:test")

    await start(sut, chat_dataset(20), validation=validation)

    _, valid_upload = uploads(openai_server)
    assert [line["messages"][0]["content"] for line in jsonl_lines(valid_upload.file)] == [
        f"q{i}" for i in range(10)
    ]
    [creation] = job_creations(openai_server)
    train_id, valid_id = fine_tune_files(openai_server)
    assert creation.json["training_file"] == train_id
    assert creation.json["validation_file"] == valid_id


async def test_validation_set_too_small_for_openai_is_not_uploaded(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    await start(sut, chat_dataset(20), validation=chat_dataset(3, name="reviews:test"))

    assert len(uploads(openai_server)) == 1
    [creation] = job_creations(openai_server)
    assert "validation_file" not in creation.json


async def test_preference_dataset_is_uploaded_in_the_preference_format(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    await start(sut, preference_dataset(12))

    [upload] = uploads(openai_server)
    assert jsonl_lines(upload.file)[0] == {
        "input": {"messages": [{"role": "user", "content": "q0"}]},
        "preferred_output": [{"role": "assistant", "content": "good 0"}],
        "non_preferred_output": [{"role": "assistant", "content": "bad 0"}],
    }
    assert len(jsonl_lines(upload.file)) == 12


async def test_preference_dataset_is_trained_with_dpo(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    await start(sut, preference_dataset(12))

    [creation] = job_creations(openai_server)
    assert creation.json["method"] == {"type": "dpo"}
    [remote] = openai_server.jobs.values()
    assert remote.status == "validating_files", "the fake accepted the DPO job"


async def test_unwanted_examples_are_left_out_of_the_upload(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    unwanted = tuple(
        Example.single_turn(f"rude {i}", f"insult {i}", wanted=False) for i in range(3)
    )
    dataset = chat_dataset(12)
    dataset = dataset.with_examples((*dataset.examples, *unwanted))

    await start(sut, dataset)

    [upload] = uploads(openai_server)
    lines = jsonl_lines(upload.file)
    assert len(lines) == 12
    assert "rude" not in upload.file.decode()
    assert "insult" not in upload.file.decode()


async def test_classification_examples_carry_the_classification_instruction(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    dataset = Dataset(
        name="sentiment",
        task=Task.CLASSIFICATION,
        examples=tuple(
            Example.single_turn(f"text {i}", "positive" if i % 2 else "negative") for i in range(12)
        ),
    )
    instruction = classification_instruction(("negative", "positive")).to_dict()

    await start(sut, dataset)

    [upload] = uploads(openai_server)
    lines = jsonl_lines(upload.file)
    assert all(line["messages"][0] == instruction for line in lines)
    assert lines[1]["messages"][1:] == [
        {"role": "user", "content": "text 1"},
        {"role": "assistant", "content": "positive"},
    ]


async def test_too_few_examples_are_refused_before_any_upload(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    with pytest.raises(DatasetInvalid) as caught:
        await start(sut, chat_dataset(5))

    assert "at least 10" in str(caught.value)
    assert_one_clear_line(str(caught.value))
    assert openai_server.requests == []


async def test_too_few_wanted_examples_are_refused_before_any_upload(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    dataset = chat_dataset(6).with_examples(
        (*chat_dataset(6).examples, *chat_dataset(8, wanted=False).examples)
    )

    with pytest.raises(DatasetInvalid) as caught:
        await start(sut, dataset)

    assert "has 6" in str(caught.value)
    assert openai_server.requests == []


async def test_example_that_would_make_an_invalid_line_is_refused_before_upload_by_line(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    examples = list(chat_dataset(20).examples)
    examples[4] = Example.single_turn("q4", "   ")  # OpenAI refuses an empty answer
    dataset = chat_dataset().with_examples(examples)

    with pytest.raises(DatasetInvalid) as caught:
        await start(sut, dataset)

    message = str(caught.value)
    assert "line 5" in message
    assert "empty content" in message
    assert_one_clear_line(message)
    assert openai_server.requests_to("/files") == []


# --- the job ------------------------------------------------------------------------------------


async def test_job_is_created_with_the_base_model_file_suffix_seed_metadata_and_method(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    train = chat_dataset(20)

    await start(sut, train)

    [creation] = job_creations(openai_server)
    [train_id] = fine_tune_files(openai_server)
    assert creation.json == {
        "model": TUNABLE_MODEL,
        "training_file": train_id,
        "suffix": "reviews",
        "seed": 7,
        "metadata": {"dataset": "reviews", "dataset_version": train.version, "job": "job-1"},
        "method": {"type": "supervised"},
    }


async def test_base_model_in_the_spec_overrides_the_configured_one(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    openai_server.models["gpt-4o-mini-2024-07-18"] = {"fine_tunable": True}

    job = await start(sut, base_model="gpt-4o-mini-2024-07-18")

    [creation] = job_creations(openai_server)
    assert creation.json["model"] == "gpt-4o-mini-2024-07-18"
    assert job.base_model == "gpt-4o-mini-2024-07-18"


async def test_started_job_records_the_provider_job_and_the_uploaded_files(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut, validation=chat_dataset(10, name="reviews:test"))

    [remote_id] = openai_server.jobs
    assert job.provider_job_id == remote_id
    assert job.provider_files == tuple(fine_tune_files(openai_server))
    assert len(job.provider_files) == 2
    assert job.base_model == TUNABLE_MODEL
    assert job.status is JobStatus.VALIDATING


async def test_files_are_polled_until_processed_before_the_job_is_created(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    openai_server.require_processed_files = True

    await start(sut)

    [file_id] = fine_tune_files(openai_server)
    paths = [(r.method, r.path) for r in openai_server.requests]
    polls = [i for i, p in enumerate(paths) if p == ("GET", f"/v1/files/{file_id}")]
    creation = paths.index(("POST", "/v1/fine_tuning/jobs"))
    assert len(polls) >= 2, "the first retrieve says 'uploaded'; the client must ask again"
    assert max(polls) < creation
    assert openai_server.files[file_id].processed


async def test_rate_limited_upload_is_retried(openai_server: FakeOpenAI) -> None:
    openai_server.inject("rate_limit", path="/files", retry_after="0.05")
    async with make_client(
        api_key=API_KEY, base_url=openai_server.base_url, timeout=2.0, max_retries=2
    ) as client:
        sut = trainer(client, openai_server)
        job = await start(sut)

    assert len(uploads(openai_server)) == 2
    assert job.provider_job_id in openai_server.jobs


# --- following the job --------------------------------------------------------------------------


async def test_refresh_follows_validating_queued_running_succeeded(
    sut: OpenAIModelTrainer,
) -> None:
    job = await start(sut)

    seen = await refreshed(sut, job, 3)

    assert [job.status, *(j.status for j in seen)] == [
        JobStatus.VALIDATING,
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.SUCCEEDED,
    ]


async def test_succeeded_job_carries_the_fine_tuned_model_name(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)

    *_, done = await refreshed(sut, job, 3)

    remote = openai_server.jobs[job.provider_job_id or ""]
    assert done.model is not None
    assert done.model.startswith(f"ft:{TUNABLE_MODEL}:")
    assert ":reviews:" in done.model
    assert done.model == remote.data["fine_tuned_model"]


async def test_refresh_records_the_providers_latest_events_oldest_first(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)

    *_, done = await refreshed(sut, job, 3)

    remote = openai_server.jobs[job.provider_job_id or ""]
    assert done.events == tuple(event["message"] for event in remote.events[-5:])
    assert done.events[-1] == "The job has successfully completed"


async def test_refresh_records_the_latest_checkpoint_metrics(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)

    _, running, done = await refreshed(sut, job, 3)

    remote = openai_server.jobs[job.provider_job_id or ""]
    first, last = (c["metrics"] for c in remote.checkpoints)
    assert {k: running.metrics[k] for k in ("step", "train_loss", "valid_loss")} == {
        "step": first["step"],
        "train_loss": first["train_loss"],
        "valid_loss": first["valid_loss"],
    }
    assert done.metrics["step"] == last["step"]
    assert done.metrics["train_loss"] == last["train_loss"]
    assert done.metrics["valid_loss"] == last["valid_loss"]


async def test_unknown_provider_status_keeps_the_last_known_status(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)
    [queued] = await refreshed(sut, job, 1)
    openai_server.next_status_override = "pausing"

    paused = await sut.refresh(queued)

    assert paused.status is JobStatus.QUEUED
    assert paused.error is None


async def test_refresh_after_an_unknown_status_proceeds(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)
    [queued] = await refreshed(sut, job, 1)
    openai_server.next_status_override = "pausing"
    paused = await sut.refresh(queued)

    later = await sut.refresh(paused)

    assert later.status is JobStatus.RUNNING


async def test_failed_job_is_failed_with_the_providers_reason(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    openai_server.fail_jobs = True
    job = await start(sut)

    *_, failed = await refreshed(sut, job, 3)

    assert failed.status is JobStatus.FAILED
    assert failed.error == "The job failed due to an invalid training file."
    assert failed.model is None


async def test_cancelling_a_running_job_cancels_it_at_the_provider(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)
    *_, running = await refreshed(sut, job, 2)
    assert running.status is JobStatus.RUNNING

    cancelled = await sut.cancel(running)

    assert cancelled.status is JobStatus.CANCELLED
    remote_id = job.provider_job_id or ""
    assert len(openai_server.requests_to(f"/fine_tuning/jobs/{remote_id}/cancel", "POST")) == 1
    assert openai_server.jobs[remote_id].status == "cancelled"


async def test_refresh_when_the_server_is_unreachable_is_a_service_error(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    # RefreshJob keeps the recorded job on a ServiceError, so polling can simply be tried again.
    job = await start(sut)
    openai_server.inject("drop", path="/fine_tuning/jobs")

    with pytest.raises(ServiceError) as caught:
        await sut.refresh(job)

    assert "cannot reach" in str(caught.value)
    assert_names_server(str(caught.value), openai_server.base_url)


# --- refusals -----------------------------------------------------------------------------------


async def test_permission_denied_names_the_trainers_that_need_no_permission(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    openai_server.inject("permission_denied", path="/fine_tuning/jobs")

    with pytest.raises(CapabilityUnavailable) as caught:
        await start(sut)

    message = str(caught.value)
    assert "method=fewshot" in message
    assert "method=local" in message
    assert_one_clear_line(message)


async def test_permission_denied_deletes_the_uploaded_files_again(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    openai_server.inject("permission_denied", path="/fine_tuning/jobs")

    with pytest.raises(CapabilityUnavailable):
        await start(sut, validation=chat_dataset(10, name="reviews:test"))

    uploaded = {
        r.path.removeprefix("/v1/files/")
        for r in openai_server.requests
        if r.method == "GET" and r.path.startswith("/v1/files/")
    }
    deleted = {
        r.path.removeprefix("/v1/files/") for r in openai_server.requests if r.method == "DELETE"
    }
    assert len(uploaded) == 2
    assert deleted == uploaded
    assert fine_tune_files(openai_server) == []
    assert openai_server.jobs == {}


async def test_unknown_base_model_is_invalid_input_with_the_servers_reason(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await start(sut, base_model="gpt-nope")

    message = str(caught.value)
    assert "gpt-nope is not available for fine-tuning" in message
    assert_names_server(message, openai_server.base_url)
    assert_one_clear_line(message)
    assert fine_tune_files(openai_server) == [], "the upload was deleted again"


async def test_file_processing_past_the_time_bound_is_a_service_error_naming_it(
    openai_server: FakeOpenAI, client: AsyncOpenAI
) -> None:
    # The fake reports a file "uploaded" on its first retrieve (processed from the second on); a
    # first retrieve slower than the bound leaves the file unprocessed when time runs out.
    openai_server.inject("slow", path="/files/", delay=0.05)
    sut = trainer(client, openai_server, file_timeout=0.01)

    with pytest.raises(ServiceError) as caught:
        await start(sut)

    message = str(caught.value)
    assert "did not process the training file within 0.01 s" in message
    assert_names_server(message, openai_server.base_url)
    assert job_creations(openai_server) == []
    assert fine_tune_files(openai_server) == [], "the upload was deleted again"


# --- interrupted starts -------------------------------------------------------------------------


async def test_interrupted_start_is_recovered_from_the_provider_by_its_metadata(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    started = await start(sut)
    interrupted = dataclasses.replace(started, provider_job_id=None, provider_files=())

    recovered = await sut.refresh(interrupted)

    [remote_id] = openai_server.jobs
    assert recovered.provider_job_id == remote_id
    assert recovered.status is JobStatus.VALIDATING
    assert recovered.base_model == TUNABLE_MODEL


async def test_interrupted_start_unknown_to_the_provider_is_failed_as_interrupted(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    await start(sut)  # someone else's job, with another job id in its metadata
    never_started = job_for(chat_dataset(), job_id="job-2")

    settled = await sut.refresh(never_started)

    assert settled.status is JobStatus.FAILED
    assert settled.error is not None
    assert "interrupted" in settled.error
    assert settled.provider_job_id is None


# --- bugs ---------------------------------------------------------------------------------------


async def test_validation_set_with_too_few_wanted_examples_is_left_out_not_fatal(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    validation = chat_dataset(8, name="reviews:test").with_examples(
        (*chat_dataset(8).examples, *chat_dataset(4, wanted=False).examples)
    )

    job = await start(sut, chat_dataset(20), validation=validation)

    assert job.provider_job_id in openai_server.jobs
    [creation] = job_creations(openai_server)
    assert "validation_file" not in creation.json


async def test_dpo_validation_set_with_a_plain_example_does_not_crash_the_start(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    validation = preference_dataset(12, name="prefs:test")
    validation = validation.with_examples(
        (*validation.examples, Example.single_turn("plain", "answer"))
    )

    job = await start(sut, preference_dataset(12), validation=validation)

    assert job.provider_job_id in openai_server.jobs


async def test_refresh_of_a_job_the_provider_no_longer_knows_says_so(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)
    lost = dataclasses.replace(job, provider_job_id="ftjob-gone")

    try:
        said = (await sut.refresh(lost)).error or ""
    except TrainerbotError as error:
        said = str(error)

    assert "no model" not in said
    assert "job" in said.lower()


async def test_the_loss_curve_comes_from_the_checkpoints_then_from_the_results_file(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    job = await start(sut)
    _, running = await refreshed(sut, job, 2)
    remote = openai_server.jobs[job.provider_job_id or ""]
    openai_server.auto_advance = False

    so_far = await sut.loss_curve(running)

    [first] = remote.checkpoints
    assert so_far == (
        LossPoint(
            first["step_number"], first["metrics"]["train_loss"], first["metrics"]["valid_loss"]
        ),
    )
    openai_server.advance(remote.id)
    [done] = await refreshed(sut, running, 1)
    assert done.status is JobStatus.SUCCEEDED
    whole = await sut.loss_curve(done)
    assert [point.step for point in whole] == [c["step_number"] for c in remote.checkpoints]
    assert [point.train_loss for point in whole] == [
        c["metrics"]["train_loss"] for c in remote.checkpoints
    ]
    assert isinstance(sut, LossCurveSource)


async def test_a_job_openai_never_accepted_has_no_loss_curve(sut: OpenAIModelTrainer) -> None:
    job = await start(sut)

    assert await sut.loss_curve(dataclasses.replace(job, provider_job_id=None)) == ()


# --- the cost estimate ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("train_examples", "epochs"),
    [(1, 25), (3, 25), (10, 10), (30, 4), (34, 3), (100, 3), (8_333, 3), (8_334, 2), (30_000, 1)],
)
def test_epochs_follow_the_cookbook(train_examples: int, epochs: int) -> None:
    # At least 100 examples seen (rounded up, at most 25 epochs), 3 epochs in the middle, at most
    # 25,000 examples seen (at least one epoch).
    assert estimate_epochs(train_examples) == epochs


def test_the_estimate_bills_the_training_tokens_once_an_epoch(sut: OpenAIModelTrainer) -> None:
    estimate = sut.estimate(TrainingTokens(examples=2, tokens=33))

    assert estimate == BillingEstimate(epochs=estimate_epochs(2), training_tokens=33)
    assert estimate.billed_tokens == 25 * 33


def test_nothing_to_train_is_no_bill(sut: OpenAIModelTrainer) -> None:
    assert sut.estimate(TrainingTokens(examples=0, tokens=0)) is None


async def test_the_train_report_shows_openais_estimate_of_the_training_part(
    openai_server: FakeOpenAI, sut: OpenAIModelTrainer
) -> None:
    counter = TiktokenTokenCounter()
    train_model = TrainModel(
        trainers={sut.name: sut},
        default_trainer=sut.name,
        datasets=InMemoryDatasetStore(),
        corrections=InMemoryCorrectionStore(),
        jobs=InMemoryJobStore(),
        models=InMemoryModelRegistry(),
        workspace=InMemoryWorkspace(),
        tokens=counter,
    )
    lines = [
        {
            "messages": [
                {"role": "user", "content": f"q{n}"},
                {"role": "assistant", "content": f"a{n}"},
            ]
        }
        for n in range(40)
    ]
    data = "\n".join(json.dumps(line) for line in lines)

    result = await train_model.execute(
        TrainRequest(actor=Actor("u", "Tess", can_train=True), data=data)
    )

    train, _ = result.dataset.split()
    # The cookbook's count of each training example: 3 to prime the reply, then per message 3,
    # its role and its content.
    tokens = sum(
        3
        + 3
        + counter.count("user")
        + counter.count(e.user_text)
        + 3
        + counter.count("assistant")
        + counter.count(e.completion)
        for e in train.examples
    )
    assert len(train.examples) * 3 < 100  # a small set: more epochs, so 100 examples are seen
    epochs = math.ceil(100 / len(train.examples))
    assert result.report.billing == BillingEstimate(epochs, tokens)
    assert result.report.details()[-1] == (
        f"estimated cost: {epochs} epochs × {tokens:,} training tokens ≈ "
        f"{epochs * tokens:,} billed tokens"
    )
    assert len(job_creations(openai_server)) == 1
