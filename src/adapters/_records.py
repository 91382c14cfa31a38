"""Entities to JSON records and back, shared by the adapters that store records.

The JSON Lines stores (``adapters.storage``) write these records as lines; the SQL stores
(``adapters.sql``) keep the same record, whole, in a JSON text column, so both hold exactly the
same entities and a record moves from one to the other unchanged.

Every record is a flat JSON object with a ``"type"`` and a format version ``"v": 1``. Enums are
stored by value, datetimes as ISO 8601 with their timezone (a naive datetime is taken as UTC),
message tuples as lists of ``{"role", "content"}``. Reading is strict about types: a damaged
record raises ``RecordError`` (a ``ValueError``) rather than producing a half-valid entity, and the
stores skip such records with a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

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
    TenantSettings,
    TrainedModel,
    TrainingJob,
    TrainingSpec,
)

VERSION = 1

INTERACTION = "interaction"
REPLY_LINK = "reply_link"
CORRECTION = "correction"
FEEDBACK = "feedback"
JOB = "job"
MODEL = "model"
ACTIVATE = "activate"
SETTINGS = "settings"
DATASET = "dataset"
SPEC = "training_spec"

Record = dict[str, Any]
Entity = Interaction | Correction | Feedback | TrainingJob | TrainedModel


class RecordError(ValueError):
    """A stored record is damaged or of an unknown type or version."""


# --- field helpers ---------------------------------------------------------------------------


def _header(kind: str) -> Record:
    return {"type": kind, "v": VERSION}


def check_header(record: Mapping[str, Any], kind: str) -> None:
    """Raise ``RecordError`` unless ``record`` is of type ``kind`` and a version this code reads."""
    if record.get("type") != kind:
        raise RecordError(f"expected a {kind} record, got {record.get('type')!r}")
    if record.get("v") != VERSION:
        raise RecordError(f"unsupported {kind} record version {record.get('v')!r}")


def _str(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise RecordError(f"field {key!r} must be a string")
    return value


def _opt_str(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is not None and not isinstance(value, str):
        raise RecordError(f"field {key!r} must be a string or null")
    return value


def _int(record: Mapping[str, Any], key: str) -> int:
    value = record.get(key)
    # bool is an int in Python, never in our records.
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"field {key!r} must be an integer")
    return value


def _str_tuple(record: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RecordError(f"field {key!r} must be a list of strings")
    return tuple(value)


_E = TypeVar("_E", Role, Source, Task, JobStatus, Rating)


def _enum_value(kind: type[_E], record: Mapping[str, Any], key: str) -> _E:
    try:
        return kind(_str(record, key))
    except ValueError as error:
        raise RecordError(f"field {key!r} has an unknown value") from error


def datetime_to_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def datetime_from_text(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise RecordError("a date is not ISO 8601") from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _datetime(record: Mapping[str, Any], key: str) -> datetime:
    return datetime_from_text(_str(record, key))


def messages_to_list(messages: Iterable[ChatMessage]) -> list[dict[str, str]]:
    return [message.to_dict() for message in messages]


def messages_from_list(value: object) -> tuple[ChatMessage, ...]:
    if not isinstance(value, list):
        raise RecordError("messages must be a list")
    messages: list[ChatMessage] = []
    for item in value:
        if not isinstance(item, dict):
            raise RecordError("a message must be an object")
        messages.append(ChatMessage(_enum_value(Role, item, "role"), _str(item, "content")))
    return tuple(messages)


# --- interactions ----------------------------------------------------------------------------


def interaction_to_record(interaction: Interaction) -> Record:
    return {
        **_header(INTERACTION),
        "id": interaction.id,
        "conversation_id": interaction.conversation_id,
        "author_id": interaction.author_id,
        "message_id": interaction.message_id,
        "prompt": interaction.prompt,
        "reply": interaction.reply,
        "model": interaction.model,
        "history": messages_to_list(interaction.history),
        "source": interaction.source.value,
        "reply_message_ids": list(interaction.reply_message_ids),
        "created_at": datetime_to_text(interaction.created_at),
    }


def interaction_from_record(record: Mapping[str, Any]) -> Interaction:
    check_header(record, INTERACTION)
    return Interaction(
        id=_str(record, "id"),
        conversation_id=_str(record, "conversation_id"),
        author_id=_str(record, "author_id"),
        message_id=_str(record, "message_id"),
        prompt=_str(record, "prompt"),
        reply=_str(record, "reply"),
        model=_str(record, "model"),
        history=messages_from_list(record.get("history", [])),
        source=_enum_value(Source, record, "source"),
        reply_message_ids=_str_tuple(record, "reply_message_ids"),
        created_at=_datetime(record, "created_at"),
    )


def reply_link_record(interaction_id: str, message_id: str) -> Record:
    """The bot's message ``message_id`` carried the answer of ``interaction_id``."""
    return {**_header(REPLY_LINK), "interaction_id": interaction_id, "message_id": message_id}


def reply_link_from_record(record: Mapping[str, Any]) -> tuple[str, str]:
    """``(interaction_id, message_id)`` of a reply link record."""
    check_header(record, REPLY_LINK)
    return _str(record, "interaction_id"), _str(record, "message_id")


# --- corrections and feedback ----------------------------------------------------------------


def correction_to_record(correction: Correction) -> Record:
    return {
        **_header(CORRECTION),
        "id": correction.id,
        "interaction_id": correction.interaction_id,
        "message_id": correction.message_id,
        "author_id": correction.author_id,
        "prompt": correction.prompt,
        "wrong_answer": correction.wrong_answer,
        "corrected": correction.corrected,
        "model": correction.model,
        "history": messages_to_list(correction.history),
        "created_at": datetime_to_text(correction.created_at),
    }


def correction_from_record(record: Mapping[str, Any]) -> Correction:
    check_header(record, CORRECTION)
    return Correction(
        id=_str(record, "id"),
        interaction_id=_str(record, "interaction_id"),
        message_id=_str(record, "message_id"),
        author_id=_str(record, "author_id"),
        prompt=_str(record, "prompt"),
        wrong_answer=_str(record, "wrong_answer"),
        corrected=_str(record, "corrected"),
        model=_str(record, "model"),
        history=messages_from_list(record.get("history", [])),
        created_at=_datetime(record, "created_at"),
    )


def feedback_to_record(feedback: Feedback) -> Record:
    return {
        **_header(FEEDBACK),
        "id": feedback.id,
        "author_id": feedback.author_id,
        "text": feedback.text,
        "rating": feedback.rating.value if feedback.rating is not None else None,
        "interaction_id": feedback.interaction_id,
        "message_id": feedback.message_id,
        "created_at": datetime_to_text(feedback.created_at),
    }


def feedback_from_record(record: Mapping[str, Any]) -> Feedback:
    check_header(record, FEEDBACK)
    return Feedback(
        id=_str(record, "id"),
        author_id=_str(record, "author_id"),
        text=_str(record, "text"),
        rating=None if record.get("rating") is None else _enum_value(Rating, record, "rating"),
        interaction_id=_opt_str(record, "interaction_id"),
        message_id=_opt_str(record, "message_id"),
        created_at=_datetime(record, "created_at"),
    )


# --- jobs and models -------------------------------------------------------------------------


def job_to_record(job: TrainingJob) -> Record:
    return {
        **_header(JOB),
        "id": job.id,
        "trainer": job.trainer,
        "status": job.status.value,
        "dataset_name": job.dataset_name,
        "dataset_version": job.dataset_version,
        "example_count": job.example_count,
        "requested_by": job.requested_by,
        "base_model": job.base_model,
        "provider_job_id": job.provider_job_id,
        "model": job.model,
        "error": job.error,
        "provider_files": list(job.provider_files),
        "events": list(job.events),
        "metrics": dict(job.metrics),
        "origin": job.origin,
        "created_at": datetime_to_text(job.created_at),
        "updated_at": datetime_to_text(job.updated_at),
    }


def job_from_record(record: Mapping[str, Any]) -> TrainingJob:
    check_header(record, JOB)
    return TrainingJob(
        id=_str(record, "id"),
        trainer=_str(record, "trainer"),
        status=_enum_value(JobStatus, record, "status"),
        dataset_name=_str(record, "dataset_name"),
        dataset_version=_str(record, "dataset_version"),
        example_count=_int(record, "example_count"),
        requested_by=_str(record, "requested_by"),
        base_model=_opt_str(record, "base_model"),
        provider_job_id=_opt_str(record, "provider_job_id"),
        model=_opt_str(record, "model"),
        error=_opt_str(record, "error"),
        provider_files=_str_tuple(record, "provider_files"),
        events=_str_tuple(record, "events"),
        metrics=_float_map(record, "metrics"),
        origin=_opt_str(record, "origin"),
        created_at=_datetime(record, "created_at"),
        updated_at=_datetime(record, "updated_at"),
    )


def _float_map(record: Mapping[str, Any], key: str) -> dict[str, float]:
    """An optional mapping of names to numbers (absent in older records)."""
    value = record.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise RecordError(f"{key} is not a mapping of names to numbers")
    return {k: float(v) for k, v in value.items()}


def model_to_record(model: TrainedModel) -> Record:
    return {
        **_header(MODEL),
        "id": model.id,
        "trainer": model.trainer,
        "job_id": model.job_id,
        "dataset_version": model.dataset_version,
        "base_model": model.base_model,
        "created_at": datetime_to_text(model.created_at),
    }


def model_from_record(record: Mapping[str, Any]) -> TrainedModel:
    check_header(record, MODEL)
    return TrainedModel(
        id=_str(record, "id"),
        trainer=_opt_str(record, "trainer"),
        job_id=_opt_str(record, "job_id"),
        dataset_version=_opt_str(record, "dataset_version"),
        base_model=_opt_str(record, "base_model"),
        created_at=_datetime(record, "created_at"),
    )


def activate_record(model_id: str) -> Record:
    return {**_header(ACTIVATE), "model_id": model_id}


def activate_from_record(record: Mapping[str, Any]) -> str:
    """The model id an activation record names."""
    check_header(record, ACTIVATE)
    return _str(record, "model_id")


def settings_record(settings: TenantSettings) -> Record:
    return {
        **_header(SETTINGS),
        "persona": settings.persona,
        "trainer_role": settings.trainer_role,
    }


def settings_from_record(record: Mapping[str, Any]) -> TenantSettings:
    check_header(record, SETTINGS)
    return TenantSettings(
        persona=_opt_str(record, "persona"), trainer_role=_opt_str(record, "trainer_role")
    )


# --- datasets --------------------------------------------------------------------------------


def dataset_header(dataset: Dataset) -> Record:
    """The first line of a stored dataset file; the examples follow, one ``Example.to_dict`` each.

    The example lines are exactly the user-facing dataset format (no type field), so a stored
    dataset file minus its first line is a valid upload.
    """
    return {
        **_header(DATASET),
        "name": dataset.name,
        "task": dataset.task.value,
        "version": dataset.version,
        "source": dataset.source,
        "example_count": len(dataset.examples),
        # Whether some corrections are held out for testing (holdout=true): the split depends on
        # it. Written only when set, so datasets stored before it read the same.
        **({"hold_out_corrections": True} if dataset.hold_out_corrections else {}),
    }


def dataset_to_records(dataset: Dataset) -> list[Record]:
    """The header record followed by one record per example."""
    return [dataset_header(dataset), *(example.to_dict() for example in dataset.examples)]


def example_from_record(record: Mapping[str, Any]) -> Example:
    """``Example.from_dict`` with the strict checks the entity leaves to its callers."""
    if not isinstance(record.get("completion"), str):
        raise RecordError("field 'completion' must be a string")
    if record.get("rejected") is not None and not isinstance(record.get("rejected"), str):
        raise RecordError("field 'rejected' must be a string or null")
    if not isinstance(record.get("wanted", True), bool):
        raise RecordError("field 'wanted' must be true or false")
    if not isinstance(record.get("origin", ""), str):
        raise RecordError("field 'origin' must be a string")
    return Example(
        prompt=messages_from_list(record.get("prompt")),
        completion=record["completion"],
        rejected=record.get("rejected"),
        wanted=record.get("wanted", True),
        origin=record.get("origin", ""),
    )


def dataset_from_records(records: Iterable[Mapping[str, Any]]) -> Dataset:
    """Rebuild a dataset from its header record and example records."""
    iterator = iter(records)
    header = next(iterator, None)
    if header is None:
        raise RecordError("a dataset file needs a header line")
    check_header(header, DATASET)
    examples = tuple(example_from_record(record) for record in iterator)
    expected = _int(header, "example_count")
    if expected != len(examples):
        raise RecordError(f"the header announces {expected} examples, the file has {len(examples)}")
    return Dataset(
        name=_str(header, "name"),
        task=_enum_value(Task, header, "task"),
        examples=examples,
        source=_str(header, "source"),
        hold_out_corrections=header.get("hold_out_corrections") is True,
    )


# --- training specs (what a queued job carries to a worker) -----------------------------------


def _dataset_value(dataset: Dataset) -> Record:
    return {
        "records": dataset_to_records(dataset),
        "label_set": None if dataset.label_set is None else list(dataset.label_set),
    }


def _dataset_of(value: object) -> Dataset:
    if not isinstance(value, Mapping) or not isinstance(value.get("records"), list):
        raise RecordError("a dataset must be an object with its records")
    dataset = dataset_from_records(value["records"])
    labels = value.get("label_set")
    if labels is None:
        return dataset
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise RecordError("field 'label_set' must be a list of strings")
    return replace(dataset, label_set=tuple(labels))


def spec_to_record(spec: TrainingSpec) -> Record:
    """A training spec as JSON-ready values: its datasets (with a split's label set), options."""
    return {
        **_header(SPEC),
        "dataset": _dataset_value(spec.dataset),
        "validation": None if spec.validation is None else _dataset_value(spec.validation),
        "base_model": spec.base_model,
        "suffix": spec.suffix,
        "seed": spec.seed,
        "metadata": dict(spec.metadata),
        "system_prompt": spec.system_prompt,
    }


def spec_from_record(record: Mapping[str, Any]) -> TrainingSpec:
    check_header(record, SPEC)
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, Mapping) or not all(
        isinstance(value, str) for value in metadata.values()
    ):
        raise RecordError("field 'metadata' must map names to strings")
    seed = record.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise RecordError("field 'seed' must be a whole number")
    validation = record.get("validation")
    return TrainingSpec(
        dataset=_dataset_of(record.get("dataset")),
        validation=None if validation is None else _dataset_of(validation),
        base_model=_opt_str(record, "base_model"),
        suffix=_opt_str(record, "suffix"),
        seed=seed,
        metadata=dict(metadata),
        system_prompt=_opt_str(record, "system_prompt"),
    )


# --- dispatch --------------------------------------------------------------------------------


def to_record(entity: Entity) -> Record:
    """The record of any stored entity."""
    match entity:
        case Interaction():
            return interaction_to_record(entity)
        case Correction():
            return correction_to_record(entity)
        case Feedback():
            return feedback_to_record(entity)
        case TrainingJob():
            return job_to_record(entity)
        case TrainedModel():
            return model_to_record(entity)
    raise TypeError(f"cannot store a {type(entity).__name__}")


_READERS: dict[str, Callable[[Mapping[str, Any]], Entity]] = {
    INTERACTION: interaction_from_record,
    CORRECTION: correction_from_record,
    FEEDBACK: feedback_from_record,
    JOB: job_from_record,
    MODEL: model_from_record,
}


def from_record(record: Mapping[str, Any]) -> Entity:
    """The entity a record holds; ``RecordError`` for an unknown type or a damaged record."""
    kind = record.get("type")
    reader = _READERS.get(kind) if isinstance(kind, str) else None
    if reader is None:
        raise RecordError(f"unknown record type {record.get('type')!r}")
    return reader(record)
