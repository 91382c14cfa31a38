"""Learning: the trainers a ``!train`` may name, and what they share.

Rules:
- ``trainers`` holds every method: ``fewshot``, ``local`` (fewshot for chat data, a classifier
  for labelled data), ``lora`` (LoRA fine-tuning of the embedded model) and ``openai`` (a
  fine-tuning job, or an adapter naming the settings to set when OpenAI is not configured:
  ``Settings.openai_adapters``). Which one a ``!train`` without a method uses is
  ``Settings.resolved_trainer``.
- Trained models are written to the workspace's artifacts (``Storage.artifacts``): each tenant's
  trainers are its own, over its own models/ folder.
- One lora training process runs on this machine at a time, whichever tenant asked
  (``lora_gate``, shared); the OpenAI trainer is shared too.
- With the records in PostgreSQL (``Settings.training_adapter`` "queue"), ``trainers`` hands the
  fewshot, local and lora jobs to training workers (``trainerbot worker``) through the queue
  (``training_queue``, shared); ``local_trainers`` are the ones a worker trains with.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dependency_injector import providers

from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    LocalModelTrainer,
    LoraModelTrainer,
    LoraSettings,
)
from trainerbot.adapters.llama import default_weights
from trainerbot.adapters.openai import OpenAIModelTrainer
from trainerbot.adapters.queue import QueuedModelTrainer, TrainingQueue
from trainerbot.adapters.unavailable import UnavailableModelTrainer
from trainerbot.config import Settings
from trainerbot.ports import JobStore, ModelTrainer

from .configured import Configured, settings
from .models import NO_OPENAI_SETTINGS, LanguageModels
from .storage import MODELS_FOLDER, Storage

# The trainers whose jobs go to training workers when there is a queue.
QUEUED_TRAINERS = frozenset({"fewshot", "local", "lora"})


def _lora_work_root(settings: Settings) -> Path:
    """Where training jobs keep their files: beside the models (same file system, so the adapter
    is moved in by a rename), or a temporary folder when nothing is kept on disk."""
    if settings.storage == "memory":
        return Path(tempfile.gettempdir()) / "trainerbot-lora"
    return settings.workspace / MODELS_FOLDER / ".training"


def _gguf_weights(settings: Settings) -> Path | None:
    """The embedded model's weights (found when a lora job first needs them)."""
    return settings.gguf_model or default_weights()


def _lora_settings(settings: Settings) -> LoraSettings:
    """The LoRA hyperparameters: each ``LoraSettings`` field from the setting ``lora_<field>``
    where there is one (the others keep their defaults)."""
    names = {f"lora_{field.name}" for field in dataclasses.fields(LoraSettings)}
    chosen = settings.model_dump(include=names)
    return LoraSettings(**{name.removeprefix("lora_"): value for name, value in chosen.items()})


def _through_queue(
    trainers: Mapping[str, ModelTrainer], queue: TrainingQueue, jobs: JobStore, tenant: str
) -> dict[str, ModelTrainer]:
    """``trainers``, the ones that train on this machine's CPU or GPU (``QUEUED_TRAINERS``)
    handing their jobs to training workers; OpenAI's jobs run at OpenAI whoever starts them."""
    return {
        name: QueuedModelTrainer(trainer, queue=queue, jobs=jobs, tenant=tenant)
        if name in QUEUED_TRAINERS
        else trainer
        for name, trainer in trainers.items()
    }


class Learning(Configured):
    """The trainers of one workspace."""

    lora_gate = providers.Singleton(asyncio.Semaphore, 1)
    openai_trainer = providers.Selector(
        settings.provided.openai_adapters,
        openai=providers.Singleton(
            OpenAIModelTrainer,
            LanguageModels.openai_client,
            base_model=settings.provided.openai_finetune_model,
            service=LanguageModels.openai_service,
            poll_interval=settings.provided.openai_poll_seconds,
            file_timeout=settings.provided.openai_file_timeout,
            max_example_tokens=settings.provided.max_example_tokens,
        ),
        missing=providers.Singleton(UnavailableModelTrainer, "openai", NO_OPENAI_SETTINGS),
    )
    fewshot_trainer = providers.Singleton(
        FewShotModelTrainer,
        Storage.artifacts,
        base_model=LanguageModels.default_model,
        embeddings=LanguageModels.embeddings,
    )
    # The trainers as this process trains.
    local_trainers = providers.Dict(
        fewshot=fewshot_trainer,
        local=providers.Singleton(
            LocalModelTrainer,
            Storage.artifacts,
            chat_trainer=fewshot_trainer,
            embeddings=LanguageModels.embeddings,
        ),
        lora=providers.Singleton(
            LoraModelTrainer,
            Storage.artifacts,
            work_root=providers.Callable(_lora_work_root, settings),
            base_weights=providers.Callable(functools.partial, _gguf_weights, settings),
            base_model=settings.provided.embedded_model_name,
            base_chat=LanguageModels.embedded_llama,
            system_prompt=settings.provided.system_prompt,
            embeddings=LanguageModels.embeddings,
            settings=providers.Callable(_lora_settings, settings),
            gate=lora_gate,
        ),
        openai=openai_trainer,
    )
    # The training queue on the records' PostgreSQL database (shared by every tenant); None
    # without PostgreSQL.
    training_queue = providers.Selector(
        settings.provided.database_kind,
        postgresql=providers.Singleton(
            TrainingQueue, settings.provided.database_url_value, pool_size=4
        ),
        sqlite=providers.Object(None),
        none=providers.Object(None),
    )
    # What ``!train`` uses: the trainers here, or (``Settings.training_adapter``) the same ones
    # through the queue, for training workers.
    trainers = providers.Selector(
        settings.provided.training_adapter,
        here=local_trainers,
        queue=providers.Callable(
            _through_queue, local_trainers, training_queue, Storage.jobs, Storage.tenant
        ),
    )
