"""The use cases, over the stores, models, speech and trainers of one workspace.

Rules:
- ``use_cases`` (the ``UseCases`` bundle every front end drives) is built from the providers
  declared here whose names are ``UseCases``' fields, and only from them. To add a use case,
  declare its provider here under its field's name: it is in the bundle, and on the root container
  by that name (``composition.py``).
- ``limits``, ``rate_limit`` (one limit per member, shared by text and voice messages, wherever
  they speak) and ``charts`` are shared by every tenant (``SHARED``); ``recent_tests`` (each
  trainer's latest ``!test``, for ``!fix``) is each tenant's own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from dependency_injector import providers

from trainerbot.adapters.charts import MatplotlibChartRenderer
from trainerbot.config import Settings
from trainerbot.core.answer_message import AnswerMessage
from trainerbot.core.answer_voice import AnswerVoiceMessage
from trainerbot.core.archive_files import ArchiveFiles
from trainerbot.core.cancel_job import CancelJob
from trainerbot.core.export_data import ExportData
from trainerbot.core.fix_failure import FixFailure, RecentTests
from trainerbot.core.follow_job import FollowJob
from trainerbot.core.get_file import GetFile
from trainerbot.core.lease_job import LeaseJob
from trainerbot.core.link_reply import LinkReply
from trainerbot.core.list_jobs import ListJobs
from trainerbot.core.list_models import ListModels
from trainerbot.core.manage_settings import IdentifyMember, ManageSettings
from trainerbot.core.rate_limit import RateLimit
from trainerbot.core.record_correction import RecordCorrection
from trainerbot.core.record_feedback import RecordFeedback
from trainerbot.core.refresh_job import RefreshJob
from trainerbot.core.run_training import RunTrainingJob
from trainerbot.core.select_dataset import SelectDataset
from trainerbot.core.show_instructions import ShowInstructions
from trainerbot.core.speak_reply import SpeakReply
from trainerbot.core.test_model import TestModel
from trainerbot.core.train_model import TrainModel
from trainerbot.core.transcribe_voice import TranscribeVoice
from trainerbot.core.use_cases import UseCases
from trainerbot.core.use_model import UseModel

from .configured import Configured, settings
from .learning import Learning
from .models import LanguageModels
from .speech import Speech
from .storage import Storage


def _default_instructions() -> str:
    return resources.files("trainerbot.resources").joinpath("instruction.md").read_text("utf-8")


def _as_text(ids: Iterable[int]) -> frozenset[str]:
    return frozenset(map(str, ids))


def _bundled(declared: Mapping[str, Any]) -> dict[str, providers.Provider[Any]]:
    """The providers in ``declared`` named like ``UseCases``' fields (a field with none is a
    TypeError naming it when the bundle is first built)."""
    names = {field.name for field in dataclasses.fields(UseCases)}
    return {name: provider for name, provider in declared.items() if name in names}


class Application(Configured):
    """Every use case of one workspace, and their bundle."""

    limits = providers.Singleton(Settings.limits, settings)
    rate_limit = providers.Singleton(
        RateLimit,
        per_minute=settings.provided.rate_limit_per_minute,
        burst=settings.provided.rate_limit_burst,
    )
    # Charts of test results and loss curves (matplotlib, drawn in a worker thread).
    charts = providers.Singleton(MatplotlibChartRenderer)
    recent_tests = providers.Singleton(RecentTests)

    answer_message = providers.Singleton(
        AnswerMessage,
        chat_model=LanguageModels.chat_model,
        interactions=Storage.interactions,
        models=Storage.models,
        default_model=LanguageModels.default_model,
        system_prompt=settings.provided.system_prompt,
        limits=limits,
        rate_limit=rate_limit,
        settings=Storage.tenant_settings,
    )
    link_reply = providers.Singleton(LinkReply, interactions=Storage.interactions)
    transcribe_voice = providers.Singleton(
        TranscribeVoice,
        converter=Speech.audio_converter,
        speech_to_text=Speech.speech_to_text,
        workspace=Storage.workspace,
        language=settings.provided.language,
        limits=limits,
        rate_limit=rate_limit,
    )
    answer_voice_message = providers.Singleton(
        AnswerVoiceMessage, transcribe=transcribe_voice, answer=answer_message
    )
    speak_reply = providers.Singleton(
        SpeakReply,
        text_to_speech=Speech.text_to_speech,
        voice=Speech.voice_output,
        language=settings.provided.language,
        limits=limits,
    )
    train_model = providers.Singleton(
        TrainModel,
        trainers=Learning.trainers,
        default_trainer=settings.provided.resolved_trainer,
        datasets=Storage.datasets,
        corrections=Storage.corrections,
        jobs=Storage.jobs,
        models=Storage.models,
        workspace=Storage.workspace,
        limits=limits,
        tokens=LanguageModels.token_counter,
        settings=Storage.tenant_settings,
        system_prompt=settings.provided.system_prompt,
    )
    test_model = providers.Singleton(
        TestModel,
        chat_model=LanguageModels.chat_model,
        datasets=Storage.datasets,
        models=Storage.models,
        default_model=LanguageModels.default_model,
        limits=limits,
        charts=charts,
        recent=recent_tests,
        jobs=Storage.jobs,
        trainers=Learning.trainers,
        workspace=Storage.workspace,
    )
    fix_failure = providers.Singleton(
        FixFailure, recent=recent_tests, corrections=Storage.corrections, limits=limits
    )
    record_correction = providers.Singleton(
        RecordCorrection,
        interactions=Storage.interactions,
        corrections=Storage.corrections,
        limits=limits,
    )
    record_feedback = providers.Singleton(
        RecordFeedback, feedback=Storage.feedback, interactions=Storage.interactions, limits=limits
    )
    archive_files = providers.Singleton(ArchiveFiles, workspace=Storage.workspace)
    select_dataset = providers.Singleton(
        SelectDataset,
        workspace=Storage.workspace,
        datasets=Storage.datasets,
        limits=limits,
        tokens=LanguageModels.token_counter,
    )
    get_file = providers.Singleton(GetFile, workspace=Storage.workspace, limits=limits)
    export_data = providers.Singleton(
        ExportData,
        datasets=Storage.datasets,
        corrections=Storage.corrections,
        feedback=Storage.feedback,
        interactions=Storage.interactions,
        workspace=Storage.workspace,
    )
    show_instructions = providers.Singleton(
        ShowInstructions,
        workspace=Storage.workspace,
        default_text=providers.Callable(_default_instructions),
        instruction_path=settings.provided.instruction_file,
    )
    list_jobs = providers.Singleton(ListJobs, jobs=Storage.jobs)
    refresh_job = providers.Singleton(
        RefreshJob, trainers=Learning.trainers, jobs=Storage.jobs, models=Storage.models
    )
    follow_job = providers.Singleton(
        FollowJob, refresh_job=refresh_job, poll_seconds=settings.provided.job_poll_seconds
    )
    # Which process follows each job and posts its outcome (JobWatch).
    lease_job = providers.Singleton(LeaseJob, leases=Storage.job_leases)
    cancel_job = providers.Singleton(CancelJob, trainers=Learning.trainers, jobs=Storage.jobs)
    # What a training worker does with a queued job: train it with the trainers of this process.
    run_training = providers.Singleton(
        RunTrainingJob,
        trainers=Learning.local_trainers,
        jobs=Storage.jobs,
        models=Storage.models,
        poll_seconds=settings.provided.job_poll_seconds,
    )
    list_models = providers.Singleton(
        ListModels, models=Storage.models, default_model=LanguageModels.default_model
    )
    use_model = providers.Singleton(
        UseModel, models=Storage.models, default_model=LanguageModels.default_model
    )
    manage_settings = providers.Singleton(
        ManageSettings,
        settings=Storage.tenant_settings,
        models=Storage.models,
        default_model=LanguageModels.default_model,
        default_persona=settings.provided.system_prompt,
        default_trainer_role=settings.provided.trainer_role,
        limits=limits,
    )
    identify_member = providers.Singleton(
        IdentifyMember,
        settings=Storage.tenant_settings,
        default_trainer_role=settings.provided.trainer_role,
        owners=providers.Callable(_as_text, settings.provided.owner_ids),
    )

    # Every use case above, by its UseCases field's name.
    use_cases = providers.Singleton(UseCases, **_bundled(vars()))
