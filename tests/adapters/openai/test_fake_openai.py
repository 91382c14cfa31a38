"""Smoke tests of the fake OpenAI server, driven by the real `openai.AsyncOpenAI` client.

They prove that every route answers in a shape the SDK parses, that the fake
validates like the real service, that fine-tuning jobs move through their
states, and that injected faults reach the client as the SDK reports them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
import math
import time
import wave
from collections.abc import AsyncIterator, Iterable
from typing import Any

import openai
import pytest
from fake_openai import FakeOpenAI, embed
from openai.types import FileObject
from openai.types.fine_tuning import FineTuningJob

API_KEY = "test-key"
CHAT_MODEL = "gpt-5.6-terra"
TUNABLE_MODEL = "gpt-4.1-mini-2025-04-14"
EMBEDDING_MODEL = "text-embedding-3-small"
TRANSCRIBE_MODEL = "gpt-transcribe"
SPEECH_MODEL = "gpt-4o-mini-tts"


# --------------------------------------------------------------------------- helpers


@pytest.fixture
async def client(openai_server: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real SDK client, pointed at the fake, with retries off."""
    async with openai.AsyncOpenAI(
        base_url=openai_server.base_url, api_key=API_KEY, max_retries=0
    ) as sdk:
        yield sdk


def chat_example(number: int) -> dict[str, Any]:
    """One valid example in the chat (supervised) format."""
    return {
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": f"question {number}"},
            {"role": "assistant", "content": f"answer {number}"},
        ]
    }


def preference_example(number: int) -> dict[str, Any]:
    """One valid example in the preference (DPO) format."""
    return {
        "input": {"messages": [{"role": "user", "content": f"question {number}"}]},
        "preferred_output": [{"role": "assistant", "content": f"good answer {number}"}],
        "non_preferred_output": [{"role": "assistant", "content": f"bad answer {number}"}],
    }


def jsonl(examples: Iterable[dict[str, Any]]) -> bytes:
    """Examples as the bytes of a JSONL file."""
    return "".join(json.dumps(example) + "\n" for example in examples).encode()


def chat_file(count: int = 10) -> bytes:
    """A chat-format training file with `count` examples."""
    return jsonl(chat_example(n) for n in range(count))


async def upload(client: openai.AsyncOpenAI, content: bytes) -> FileObject:
    """Upload `content` as a fine-tuning file."""
    return await client.files.create(
        file=("train.jsonl", content, "application/jsonl"), purpose="fine-tune"
    )


async def create_job(client: openai.AsyncOpenAI, **options: Any) -> FineTuningJob:
    """Upload a valid chat file and start a supervised job on the tunable model."""
    uploaded = await upload(client, chat_file())
    return await client.fine_tuning.jobs.create(
        model=TUNABLE_MODEL, training_file=uploaded.id, **options
    )


async def retrieve_times(client: openai.AsyncOpenAI, job_id: str, times: int) -> FineTuningJob:
    """Retrieve a job `times` times (each advances it once) and return the last answer."""
    job = await client.fine_tuning.jobs.retrieve(job_id)
    for _ in range(times - 1):
        job = await client.fine_tuning.jobs.retrieve(job_id)
    return job


def cosine(left: list[float], right: list[float]) -> float:
    """The cosine similarity of two vectors."""
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    return dot / (math.hypot(*left) * math.hypot(*right))


# --------------------------------------------------------------------------- basics


def test_base_url_is_loopback_with_v1_prefix(openai_server: FakeOpenAI) -> None:
    assert openai_server.base_url == f"http://127.0.0.1:{openai_server.port}/v1"


async def test_requests_are_recorded_with_lower_case_headers_and_json(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    await client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}]
    )

    recorded = openai_server.requests[-1]
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.headers["authorization"] == f"Bearer {API_KEY}"
    assert recorded.json == {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "hi"}]}


async def test_unknown_route_is_404_invalid_url(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.get("/nowhere", cast_to=object)

    assert "Invalid URL (GET /v1/nowhere)" in caught.value.message


async def test_wrong_key_is_401_without_echoing_the_key(openai_server: FakeOpenAI) -> None:
    openai_server.require_key = "sk-right"
    async with openai.AsyncOpenAI(
        base_url=openai_server.base_url, api_key="sk-wrong-secret", max_retries=0
    ) as wrong:
        with pytest.raises(openai.AuthenticationError) as caught:
            await wrong.models.list()

    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong-secret" not in caught.value.response.text


async def test_right_key_is_accepted(openai_server: FakeOpenAI) -> None:
    openai_server.require_key = "sk-right"
    async with openai.AsyncOpenAI(
        base_url=openai_server.base_url, api_key="sk-right", max_retries=0
    ) as right:
        models = await right.models.list()

    assert models.data


# --------------------------------------------------------------------------- chat


async def test_chat_replies_to_the_last_user_message_by_default(
    client: openai.AsyncOpenAI,
) -> None:
    completion = await client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[
            {"role": "system", "content": "Be nice."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ],
    )

    assert completion.choices[0].message.content == "reply to: second"
    assert completion.choices[0].finish_reason == "stop"


async def test_chat_reports_usage(client: openai.AsyncOpenAI) -> None:
    completion = await client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "one two three"}]
    )

    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3
    assert completion.usage.total_tokens == 3 + completion.usage.completion_tokens


async def test_chat_reply_is_settable(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.reply = lambda body: f"{len(body['messages'])} messages"

    completion = await client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "1 messages"


async def test_chat_max_completion_tokens_truncates_with_finish_reason_length(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.reply = lambda body: "one two three four"

    completion = await client.chat.completions.create(
        model=CHAT_MODEL, messages=[{"role": "user", "content": "hi"}], max_completion_tokens=2
    )

    assert completion.choices[0].message.content == "one two"
    assert completion.choices[0].finish_reason == "length"


async def test_chat_with_unknown_model_is_404_model_not_found(
    client: openai.AsyncOpenAI,
) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.chat.completions.create(
            model="gpt-nope", messages=[{"role": "user", "content": "hi"}]
        )

    assert caught.value.code == "model_not_found"


async def test_chat_with_no_messages_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(model=CHAT_MODEL, messages=[])

    assert caught.value.param == "messages"


async def test_chat_message_without_a_role_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.chat.completions.create(
            model=CHAT_MODEL,
            messages=[{"content": "hi"}],  # type: ignore[list-item]
        )

    assert caught.value.param == "messages[0].role"


# --------------------------------------------------------------------------- files


async def test_upload_returns_an_uploaded_file_object(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    assert uploaded.id.startswith("file-")
    assert (uploaded.status, uploaded.purpose, uploaded.filename) == (
        "uploaded",
        "fine-tune",
        "train.jsonl",
    )
    assert uploaded.bytes == len(chat_file())


async def test_upload_records_the_file_and_form_fields(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    await upload(client, chat_file())

    recorded = openai_server.requests_to("/files", "POST")[0]
    assert recorded.file == chat_file()
    assert recorded.filename == "train.jsonl"
    assert recorded.form == {"purpose": "fine-tune"}


async def test_first_retrieve_says_uploaded_and_later_ones_processed(
    client: openai.AsyncOpenAI,
) -> None:
    uploaded = await upload(client, chat_file())

    first = await client.files.retrieve(uploaded.id)
    second = await client.files.retrieve(uploaded.id)

    assert (first.status, second.status) == ("uploaded", "processed")


async def test_file_with_a_bad_json_line_names_it_in_status_details(
    client: openai.AsyncOpenAI,
) -> None:
    lines = chat_file().splitlines(keepends=True)
    lines[2] = b"{not json\n"
    uploaded = await upload(client, b"".join(lines))

    await client.files.retrieve(uploaded.id)
    settled = await client.files.retrieve(uploaded.id)

    assert settled.status == "error"
    assert settled.status_details == "line 3: not valid JSON"


async def test_file_with_too_few_examples_is_an_error(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file(4))

    settled = await retrieve_file_twice(client, uploaded.id)

    assert settled.status_details is not None
    assert "has 4 examples, but must have at least 10" in settled.status_details


async def test_chat_example_without_an_assistant_message_is_an_error(
    client: openai.AsyncOpenAI,
) -> None:
    examples = [chat_example(n) for n in range(10)]
    examples[5]["messages"] = examples[5]["messages"][:2]
    uploaded = await upload(client, jsonl(examples))

    settled = await retrieve_file_twice(client, uploaded.id)

    assert settled.status_details == "line 6: no assistant message"


async def test_preference_file_is_processed(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, jsonl(preference_example(n) for n in range(10)))

    settled = await retrieve_file_twice(client, uploaded.id)

    assert settled.status == "processed"


async def test_file_content_returns_the_raw_bytes(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    content = await client.files.content(uploaded.id)

    assert content.content == chat_file()


async def test_unknown_file_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve("file-missing")


async def test_files_are_listed_newest_first(client: openai.AsyncOpenAI) -> None:
    first = await upload(client, chat_file())
    second = await upload(client, chat_file())

    listed = [f.id async for f in client.files.list()]

    assert listed == [second.id, first.id]


async def test_deleted_file_is_gone(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    deleted = await client.files.delete(uploaded.id)

    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(uploaded.id)


async def retrieve_file_twice(client: openai.AsyncOpenAI, file_id: str) -> FileObject:
    """Retrieve a file twice, so that its status has settled, and return the second answer."""
    await client.files.retrieve(file_id)
    return await client.files.retrieve(file_id)


# --------------------------------------------------------------------------- job creation


async def test_new_job_is_validating_with_the_fields_the_sdk_requires(
    client: openai.AsyncOpenAI,
) -> None:
    job = await create_job(client, suffix="demo", metadata={"run": "1"})

    assert job.id.startswith("ftjob-")
    assert job.status == "validating_files"
    assert isinstance(job.seed, int)
    assert job.hyperparameters.n_epochs == "auto"
    assert job.method is not None
    assert job.method.type == "supervised"
    assert (job.organization_id, job.result_files, job.fine_tuned_model) == ("org-test", [], None)
    assert job.metadata == {"run": "1"}


async def test_job_keeps_the_seed_and_method_it_was_sent(client: openai.AsyncOpenAI) -> None:
    job = await create_job(
        client,
        seed=42,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
    )

    assert job.seed == 42
    assert job.hyperparameters.n_epochs == 2
    assert job.method is not None
    assert job.method.supervised is not None


async def test_job_on_an_unknown_model_is_400_on_param_model(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model="gpt-nope", training_file=uploaded.id)

    assert caught.value.param == "model"
    assert "gpt-nope is not available for fine-tuning" in caught.value.message


async def test_job_on_a_model_that_is_not_fine_tunable_is_400(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model=CHAT_MODEL, training_file=uploaded.id)

    assert caught.value.param == "model"


async def test_job_on_an_unknown_file_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model=TUNABLE_MODEL, training_file="file-missing")

    assert caught.value.param == "training_file"


async def test_job_on_an_invalid_file_is_400_with_its_details(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file(4))

    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model=TUNABLE_MODEL, training_file=uploaded.id)

    assert "has 4 examples, but must have at least 10" in caught.value.message


async def test_dpo_job_on_a_chat_file_is_400(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, chat_file())

    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(
            model=TUNABLE_MODEL, training_file=uploaded.id, method={"type": "dpo"}
        )

    assert caught.value.param == "training_file"


async def test_supervised_job_on_a_preference_file_is_400(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, jsonl(preference_example(n) for n in range(10)))

    with pytest.raises(openai.BadRequestError):
        await client.fine_tuning.jobs.create(model=TUNABLE_MODEL, training_file=uploaded.id)


async def test_dpo_job_on_a_preference_file_is_created(client: openai.AsyncOpenAI) -> None:
    uploaded = await upload(client, jsonl(preference_example(n) for n in range(10)))

    job = await client.fine_tuning.jobs.create(
        model=TUNABLE_MODEL,
        training_file=uploaded.id,
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}},
    )

    assert job.method is not None
    assert job.method.type == "dpo"


async def test_require_processed_files_refuses_a_file_never_polled(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.require_processed_files = True
    uploaded = await upload(client, chat_file())

    with pytest.raises(openai.BadRequestError) as caught:
        await client.fine_tuning.jobs.create(model=TUNABLE_MODEL, training_file=uploaded.id)

    assert caught.value.code == "file_not_ready"


# --------------------------------------------------------------------------- job state machine


async def test_each_retrieve_advances_the_job_one_step(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)

    statuses = [job.status]
    for _ in range(4):
        statuses.append((await client.fine_tuning.jobs.retrieve(job.id)).status)

    assert statuses == ["validating_files", "queued", "running", "succeeded", "succeeded"]


async def test_succeeded_job_names_its_model_with_the_suffix(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client, suffix="demo")

    done = await retrieve_times(client, job.id, 3)

    assert done.fine_tuned_model is not None
    prefix, tag = done.fine_tuned_model.rsplit(":", 1)
    assert prefix == f"ft:{TUNABLE_MODEL}:org-test:demo"
    assert len(tag) == 6
    assert done.trained_tokens is not None
    assert done.finished_at is not None


async def test_fine_tuned_model_name_has_no_suffix_part_without_a_suffix(
    client: openai.AsyncOpenAI,
) -> None:
    job = await create_job(client)

    done = await retrieve_times(client, job.id, 3)

    assert done.fine_tuned_model is not None
    assert done.fine_tuned_model.count(":") == 3


async def test_succeeded_job_registers_its_model(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)
    done = await retrieve_times(client, job.id, 3)
    assert done.fine_tuned_model is not None

    model = await client.models.retrieve(done.fine_tuned_model)

    assert model.owned_by == "org-test"


async def test_succeeded_job_has_a_downloadable_result_file(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)
    done = await retrieve_times(client, job.id, 3)

    content = await client.files.content(done.result_files[0])

    assert content.content.startswith(b"step,train_loss")


async def test_fail_jobs_makes_the_step_after_running_failed(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.fail_jobs = True
    job = await create_job(client)

    done = await retrieve_times(client, job.id, 3)

    assert done.status == "failed"
    assert done.error is not None
    assert done.error.code == "invalid_training_file"
    assert done.fine_tuned_model is None


async def test_fail_job_fails_only_that_job(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    doomed = await create_job(client)
    healthy = await create_job(client)
    openai_server.fail_job(doomed.id)

    statuses = [(await retrieve_times(client, j.id, 3)).status for j in (doomed, healthy)]

    assert statuses == ["failed", "succeeded"]


async def test_status_override_is_reported_once_without_advancing(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    job = await create_job(client)
    openai_server.next_status_override = "pausing"

    odd = await client.fine_tuning.jobs.retrieve(job.id)
    after = await client.fine_tuning.jobs.retrieve(job.id)

    assert (odd.status, after.status) == ("pausing", "queued")


async def test_auto_advance_off_keeps_the_job_where_it_is(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.auto_advance = False
    job = await create_job(client)

    again = await retrieve_times(client, job.id, 3)

    assert again.status == "validating_files"


async def test_advance_moves_a_job_without_a_request(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.auto_advance = False
    job = await create_job(client)

    openai_server.advance(job.id, steps=2)

    assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "running"


async def test_events_are_listed_newest_first(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)
    await retrieve_times(client, job.id, 3)

    events = await client.fine_tuning.jobs.list_events(job.id)

    assert events.data[0].message == "The job has successfully completed"
    assert events.data[-1].message.startswith("Validating training file")
    assert {e.object for e in events.data} == {"fine_tuning.job.event"}


async def test_checkpoints_come_from_running_and_success_newest_first(
    client: openai.AsyncOpenAI,
) -> None:
    job = await create_job(client)
    done = await retrieve_times(client, job.id, 3)

    checkpoints = await client.fine_tuning.jobs.checkpoints.list(job.id)

    assert [c.step_number for c in checkpoints.data] == [30, 15]
    latest = checkpoints.data[0]
    assert latest.fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-30"
    assert latest.metrics.train_loss is not None
    assert latest.metrics.full_valid_mean_token_accuracy is not None


async def test_jobs_are_listed_newest_first_across_pages(client: openai.AsyncOpenAI) -> None:
    created = [await create_job(client) for _ in range(3)]

    first_page = await client.fine_tuning.jobs.list(limit=2)
    listed = [j.id async for j in client.fine_tuning.jobs.list(limit=2)]

    assert first_page.has_more
    assert listed == [j.id for j in reversed(created)]


async def test_cancel_stops_an_unfinished_job(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)

    cancelled = await client.fine_tuning.jobs.cancel(job.id)

    assert cancelled.status == "cancelled"
    assert (await client.fine_tuning.jobs.retrieve(job.id)).status == "cancelled"


async def test_cancel_of_a_finished_job_is_400(client: openai.AsyncOpenAI) -> None:
    job = await create_job(client)
    await retrieve_times(client, job.id, 3)

    with pytest.raises(openai.BadRequestError):
        await client.fine_tuning.jobs.cancel(job.id)


async def test_unknown_job_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.fine_tuning.jobs.retrieve("ftjob-missing")


# --------------------------------------------------------------------------- audio


async def test_transcription_returns_the_transcript(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.transcript = "bonjour"

    transcription = await client.audio.transcriptions.create(
        model=TRANSCRIBE_MODEL, file=("clip.ogg", b"OggS-audio", "audio/ogg"), language="fr"
    )

    assert transcription.text == "bonjour"


async def test_transcription_records_the_upload(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    await client.audio.transcriptions.create(
        model=TRANSCRIBE_MODEL, file=("clip.ogg", b"OggS-audio", "audio/ogg"), language="fr"
    )

    recorded = openai_server.requests_to("/audio/transcriptions")[0]
    assert (recorded.file, recorded.filename, recorded.file_content_type) == (
        b"OggS-audio",
        "clip.ogg",
        "audio/ogg",
    )
    assert recorded.form == {"model": TRANSCRIBE_MODEL, "language": "fr"}


async def test_transcription_as_text_is_plain_text(client: openai.AsyncOpenAI) -> None:
    text = await client.audio.transcriptions.create(
        model=TRANSCRIBE_MODEL, file=("clip.wav", b"RIFF", "audio/wav"), response_format="text"
    )

    assert text == "hello from the fake server"


async def test_transcription_with_unknown_model_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.audio.transcriptions.create(
            model="whisper-nope", file=("clip.wav", b"RIFF", "audio/wav")
        )


async def test_speech_as_opus_is_ogg(client: openai.AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(
        model=SPEECH_MODEL, input="hello", voice="alloy", response_format="opus"
    )

    assert speech.response.headers["content-type"] == "audio/ogg"
    assert speech.content.startswith(b"OggS")
    assert b"OpusHead" in speech.content


async def test_speech_as_wav_is_a_readable_wav(client: openai.AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(
        model=SPEECH_MODEL, input="hello", voice="alloy", response_format="wav"
    )

    with wave.open(io.BytesIO(speech.content)) as audio:
        assert audio.getnframes() > 0
    assert speech.response.headers["content-type"] == "audio/wav"


async def test_speech_defaults_to_mp3(client: openai.AsyncOpenAI) -> None:
    speech = await client.audio.speech.create(model=SPEECH_MODEL, input="hello", voice="alloy")

    assert speech.response.headers["content-type"] == "audio/mpeg"
    assert speech.content[:2] == b"\xff\xfb"


async def test_speech_of_empty_input_is_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.audio.speech.create(model=SPEECH_MODEL, input="", voice="alloy")

    assert caught.value.param == "input"


async def test_speech_with_unknown_model_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.audio.speech.create(model="tts-nope", input="hello", voice="alloy")


# --------------------------------------------------------------------------- embeddings


async def test_sdk_asks_for_base64_embeddings_and_decodes_them(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    response = await client.embeddings.create(model=EMBEDDING_MODEL, input="hello world")

    assert openai_server.requests[-1].json == {
        "model": EMBEDDING_MODEL,
        "input": "hello world",
        "encoding_format": "base64",
    }
    assert response.data[0].embedding == pytest.approx(embed("hello world"), abs=1e-6)


async def test_float_embeddings_are_unit_vectors_of_64_dimensions(
    client: openai.AsyncOpenAI,
) -> None:
    response = await client.embeddings.create(
        model=EMBEDDING_MODEL, input=["a cat sat"], encoding_format="float"
    )

    vector = response.data[0].embedding
    assert len(vector) == 64
    assert math.hypot(*vector) == pytest.approx(1.0)


async def test_embeddings_of_texts_sharing_words_are_closer(client: openai.AsyncOpenAI) -> None:
    response = await client.embeddings.create(
        model=EMBEDDING_MODEL,
        input=["the cat sat on the mat", "a cat on a mat", "quantum chromodynamics lecture"],
    )

    cat, mat, physics = (d.embedding for d in response.data)
    assert cosine(cat, mat) > cosine(cat, physics)


async def test_embeddings_honour_dimensions(client: openai.AsyncOpenAI) -> None:
    response = await client.embeddings.create(model=EMBEDDING_MODEL, input="hi", dimensions=8)

    assert len(response.data[0].embedding) == 8


async def test_embeddings_with_unknown_model_are_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        await client.embeddings.create(model="embed-nope", input="hi")


async def test_base64_embeddings_are_little_endian_float32(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    raw = await client.embeddings.with_raw_response.create(
        model=EMBEDDING_MODEL, input="hi", encoding_format="base64"
    )

    encoded = json.loads(raw.http_response.text)["data"][0]["embedding"]
    assert len(base64.b64decode(encoded)) == 4 * openai_server.embedding_dimensions


# --------------------------------------------------------------------------- models


async def test_models_are_listed_with_shutdown_dates(client: openai.AsyncOpenAI) -> None:
    models = {m.id: m async for m in client.models.list()}

    assert models[TUNABLE_MODEL].shutdown_date == "2027-01-14"
    assert models[CHAT_MODEL].shutdown_date is None


async def test_unknown_model_is_404(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-nope")

    assert caught.value.code == "model_not_found"


# --------------------------------------------------------------------------- faults


async def test_rate_limit_is_429_with_retry_after(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("rate_limit", retry_after="7")

    with pytest.raises(openai.RateLimitError) as caught:
        await client.models.list()

    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "7"


async def test_server_error_is_500(openai_server: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    openai_server.inject("server_error")

    with pytest.raises(openai.InternalServerError):
        await client.models.list()


async def test_permission_denied_is_403(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("permission_denied", path="/fine_tuning/jobs")

    with pytest.raises(openai.PermissionDeniedError) as caught:
        await create_job(client)

    assert caught.value.code == "permission_denied"


async def test_slow_response_times_out_a_shorter_client_timeout(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("slow", delay=5)

    with pytest.raises(openai.APITimeoutError):
        await client.models.list(timeout=0.2)


async def test_slow_response_still_answers_a_patient_client(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("slow", delay=0.05)

    models = await client.models.list()

    assert models.data


async def test_dropped_connection_is_a_connection_error(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("drop")

    with pytest.raises(openai.APIConnectionError) as caught:
        await client.models.list()

    assert not isinstance(caught.value, openai.APITimeoutError)


async def test_dropped_connection_logs_no_warning(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    openai_server.inject("drop")
    caplog.set_level(logging.DEBUG, logger="aiohttp")

    with contextlib.suppress(openai.APIConnectionError):
        await client.models.list()

    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_malformed_json_surfaces_as_a_json_decode_error(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("malformed")

    with pytest.raises(json.JSONDecodeError):
        await client.models.list()


async def test_a_fault_fires_once_by_default(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("server_error")

    with pytest.raises(openai.InternalServerError):
        await client.models.list()
    models = await client.models.list()

    assert models.data
    assert (openai_server.faults_fired, openai_server.pending_faults) == (1, 0)


async def test_a_fault_fires_as_many_times_as_asked(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("server_error", times=2)

    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.models.list()

    assert openai_server.faults_fired == 2


async def test_a_fault_for_one_path_spares_the_others(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("server_error", path="/embeddings")

    models = await client.models.list()

    assert models.data
    assert openai_server.pending_faults == 1


def test_unknown_fault_name_is_refused(openai_server: FakeOpenAI) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        openai_server.inject("meteor")


async def test_sdk_retries_a_rate_limit_after_retry_after_and_succeeds(
    openai_server: FakeOpenAI,
) -> None:
    openai_server.inject("rate_limit", retry_after="0.01")
    async with openai.AsyncOpenAI(
        base_url=openai_server.base_url, api_key=API_KEY, max_retries=2
    ) as retrying:
        models = await retrying.models.list()

    assert models.data
    attempts = openai_server.requests_to("/models")
    assert [r.header("x-stainless-retry-count") for r in attempts] == ["0", "1"]
    assert openai_server.faults_fired == 1


# --------------------------------------------------------------------------- event loop


async def test_event_loop_stays_responsive_while_a_request_waits(
    openai_server: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_server.inject("slow", delay=0.3)
    loop = asyncio.get_running_loop()
    in_flight = asyncio.create_task(client.models.retrieve(CHAT_MODEL))

    worst_lag = 0.0
    for _ in range(20):
        before = loop.time()
        await asyncio.sleep(0.01)
        worst_lag = max(worst_lag, loop.time() - before - 0.01)
    await in_flight

    assert worst_lag < 0.1


async def test_stop_releases_a_request_held_by_a_slow_fault() -> None:
    server = FakeOpenAI()
    await server.start()
    server.inject("slow", delay=60)
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as sdk:
        in_flight = asyncio.create_task(sdk.models.retrieve(CHAT_MODEL))
        for _ in range(200):
            if server.requests:
                break
            await asyncio.sleep(0.01)

        started = time.monotonic()
        await server.stop()
        stopping_took = time.monotonic() - started
        with contextlib.suppress(openai.APIError):
            await in_flight

    assert stopping_took < 2
