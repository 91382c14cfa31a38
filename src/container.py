"""The composition root: configuration → adapters (chosen by configuration) → use cases.

This is the only module that imports adapters. Nothing is built at import time: providers are
declarations, and ``create_container(settings)`` binds the settings. Tests and integrators swap any
adapter with ``container.<name>.override(...)``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any, cast

from dependency_injector import containers, providers

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.fallback import FallbackSpeechToText, FallbackTextToSpeech
from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter, resolve_ffmpeg
from trainerbot.adapters.audio.gtts import GttsTextToSpeech
from trainerbot.adapters.audio.recognition import (
    FasterWhisperEngine,
    GoogleEngine,
    SpeechRecognitionSpeechToText,
    SphinxEngine,
)
from trainerbot.adapters.charts import MatplotlibChartRenderer
from trainerbot.adapters.discord.bot import TrainerBot, build_bot
from trainerbot.adapters.discord.options import BotOptions
from trainerbot.adapters.discord.voice import DiscordVoice
from trainerbot.adapters.embeddings import MiniLMEmbeddings, minilm_installed
from trainerbot.adapters.learning import (
    FewShotModelTrainer,
    FilesystemArtifactStore,
    InMemoryArtifactStore,
    LocalModelTrainer,
    LoraModelTrainer,
    LoraSettings,
    TrainedChatModel,
    lora_adapter_path,
)
from trainerbot.adapters.llama import LlamaCppChatModel, default_weights
from trainerbot.adapters.memory import (
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryFeedbackStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemorySettingsStore,
    InMemoryWorkspace,
)
from trainerbot.adapters.openai import (
    OpenAIChatModel,
    OpenAIEmbeddings,
    OpenAIModelTrainer,
    OpenAISpeechToText,
    OpenAITextToSpeech,
    make_client,
    service_name,
)
from trainerbot.adapters.storage import (
    FilesystemDatasetStore,
    FilesystemWorkspace,
    JsonlCorrectionStore,
    JsonlFeedbackStore,
    JsonlInteractionLog,
    JsonlJobStore,
    JsonlModelRegistry,
    JsonlSettingsStore,
)
from trainerbot.adapters.storage.tenants import Adopted, adopt, known_tenants, legacy_items
from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.adapters.unavailable import (
    UnavailableChatModel,
    UnavailableModelTrainer,
    UnavailableSpeechToText,
    UnavailableTextToSpeech,
    UnavailableVoiceOutput,
)
from trainerbot.config import DEFAULT_LOCAL_CHAT_MODEL, Settings
from trainerbot.core.answer_message import AnswerMessage
from trainerbot.core.archive_files import ArchiveFiles
from trainerbot.core.cancel_job import CancelJob
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.export_data import ExportData
from trainerbot.core.fix_failure import FixFailure, RecentTests
from trainerbot.core.follow_job import FollowJob
from trainerbot.core.get_file import GetFile
from trainerbot.core.link_reply import LinkReply
from trainerbot.core.list_jobs import ListJobs
from trainerbot.core.list_models import ListModels
from trainerbot.core.manage_settings import IdentifyMember, ManageSettings
from trainerbot.core.rate_limit import RateLimit
from trainerbot.core.record_correction import RecordCorrection
from trainerbot.core.record_feedback import RecordFeedback
from trainerbot.core.refresh_job import RefreshJob
from trainerbot.core.select_dataset import SelectDataset
from trainerbot.core.show_instructions import ShowInstructions
from trainerbot.core.speak_reply import SpeakReply
from trainerbot.core.tenancy import Tenant, TenantRegistry, TenantScope
from trainerbot.core.test_model import TestModel
from trainerbot.core.train_model import TrainModel
from trainerbot.core.transcribe_voice import TranscribeVoice
from trainerbot.core.use_cases import UseCases
from trainerbot.core.use_model import UseModel

log = logging.getLogger(__name__)

# What this build or configuration cannot do, said plainly to whoever asks for it.
NO_OPENAI_SETTINGS = (
    "OpenAI is chosen but not configured: set TRAINERBOT_OPENAI_API_KEY (or OPENAI_API_KEY), or "
    "TRAINERBOT_OPENAI_BASE_URL for a local OpenAI-compatible server."
)
# The embedded model is small: long answers only ramble (and take seconds on a CPU).
LOCAL_MAX_TOKENS = 256
NO_VOICE = "Voice channels exist only in Discord: run the bot with a Discord token to speak."
# Each tenant's workspace is a folder here, below the configured workspace.
TENANTS_FOLDER = "servers"


def _voice_key(settings: Settings) -> str:
    """Selector key for spoken replies: "discord" when the bot runs in Discord."""
    return "discord" if settings.discord_token is not None else "none"


def _openai_or_missing(settings: Settings) -> str:
    """Selector key for an OpenAI adapter: "openai" when configured, "missing" when not."""
    return "openai" if settings.openai_configured else "missing"


def _embeddings_key(settings: Settings) -> str:
    """Selector key for sentence embeddings: OpenAI's when chosen or (auto) configured, else the
    offline model when chosen or (auto) installed — found without importing torch — else none."""
    chosen = settings.embeddings
    if chosen == "openai" or (chosen == "auto" and settings.openai_configured):
        return _openai_or_missing(settings)
    if chosen == "local" or (chosen == "auto" and minilm_installed()):
        return "local"
    return "missing"


def _engine(chosen: str, settings: Settings) -> str:
    """Selector key for an engine: its own name, except that "openai" needs OpenAI configured."""
    return chosen if chosen != "openai" else _openai_or_missing(settings)


def _recognizer(
    settings: providers.Dependency[Settings], engine: providers.Provider[Any], name: str
) -> providers.Singleton[SpeechRecognitionSpeechToText]:
    """A SpeechRecognition adapter over ``engine``, with the configured pool and piece length."""
    return providers.Singleton(
        SpeechRecognitionSpeechToText,
        engine,
        max_workers=settings.provided.stt_workers,
        max_chunk_seconds=settings.provided.stt_chunk_seconds,
        name=name,
    )


def _whisper_threads(settings: Settings) -> int:
    """CTranslate2 threads per recognition: every core, so that a lone voice message (the usual
    case) is heard as fast as the machine can; the pool bounds how many run at once."""
    return max(1, os.cpu_count() or 1)


def _gguf_weights(settings: Settings) -> Path | None:
    return settings.gguf_model or default_weights()


def _embedded_model_name(settings: Settings) -> str:
    """What a lora model's base is called: the embedded model's name in !models."""
    if settings.resolved_chat_backend == "local" and settings.chat_model:
        return settings.chat_model
    return settings.gguf_model.stem if settings.gguf_model else DEFAULT_LOCAL_CHAT_MODEL


def _lora_work_root(settings: Settings) -> Path:
    """Where training jobs keep their files: beside the models (same file system, so the adapter
    is moved in by a rename), or a temporary folder when nothing is kept on disk."""
    if settings.storage == "memory":
        return Path(tempfile.gettempdir()) / "trainerbot-lora"
    return settings.workspace / "models" / ".training"


def _lora_settings(settings: Settings) -> LoraSettings:
    return LoraSettings(
        rank=settings.lora_rank,
        alpha=settings.lora_alpha,
        epochs=settings.lora_epochs,
        max_steps=settings.lora_max_steps,
        learning_rate=settings.lora_learning_rate,
        max_tokens=settings.lora_max_tokens,
        threads=settings.lora_threads,
        anchors=settings.lora_anchors,
        recall=settings.lora_recall,
    )


def _default_instructions() -> str:
    return resources.files("trainerbot.resources").joinpath("instruction.md").read_text("utf-8")


class Container(containers.DeclarativeContainer):
    """Everything trainerbot is made of, wired from ``settings``."""

    __self__ = providers.Self()
    settings = providers.Dependency(instance_of=Settings)
    limits = providers.Singleton(lambda s: s.limits(), settings)
    default_model = providers.Callable(lambda s: s.resolved_chat_model, settings)

    # --- storage: the workspace on disk, or memory for tests and embedding -------------------
    _root = settings.provided.workspace
    _records = providers.Callable(lambda s: s.workspace / "records", settings)
    storage = settings.provided.storage

    workspace = providers.Selector(
        storage,
        filesystem=providers.Singleton(FilesystemWorkspace, _root, excluded=(TENANTS_FOLDER,)),
        memory=providers.Singleton(InMemoryWorkspace),
    )
    interactions = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlInteractionLog, providers.Callable(lambda r: r / "interactions.jsonl", _records)
        ),
        memory=providers.Singleton(InMemoryInteractionLog),
    )
    corrections = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlCorrectionStore, providers.Callable(lambda r: r / "corrections.jsonl", _records)
        ),
        memory=providers.Singleton(InMemoryCorrectionStore),
    )
    feedback = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlFeedbackStore, providers.Callable(lambda r: r / "feedback.jsonl", _records)
        ),
        memory=providers.Singleton(InMemoryFeedbackStore),
    )
    jobs = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlJobStore, providers.Callable(lambda r: r / "jobs.jsonl", _records)
        ),
        memory=providers.Singleton(InMemoryJobStore),
    )
    models = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlModelRegistry, providers.Callable(lambda r: r / "models.jsonl", _records)
        ),
        memory=providers.Singleton(InMemoryModelRegistry),
    )
    datasets = providers.Selector(
        storage,
        filesystem=providers.Singleton(FilesystemDatasetStore, _root),
        memory=providers.Singleton(InMemoryDatasetStore),
    )
    tenant_settings = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            JsonlSettingsStore, providers.Callable(lambda r: r / "settings.jsonl", _records)
        ),
        memory=providers.Singleton(InMemorySettingsStore),
    )

    # --- OpenAI: one client, built on first use, shared by every OpenAI adapter ---------------
    openai_client = providers.Singleton(
        make_client,
        api_key=providers.Callable(
            lambda s: s.openai_api_key.get_secret_value() if s.openai_api_key else None, settings
        ),
        base_url=settings.provided.openai_base_url,
        timeout=settings.provided.openai_timeout,
        max_retries=settings.provided.openai_max_retries,
    )
    openai_service = providers.Callable(lambda s: service_name(s.openai_base_url), settings)

    # --- models, speech and voice: chosen by configuration -----------------------------------
    # For fewshot retrieval and the local classifier (None: TF-IDF only), see _embeddings_key.
    embeddings = providers.Selector(
        providers.Callable(_embeddings_key, settings),
        openai=providers.Singleton(
            OpenAIEmbeddings,
            openai_client,
            model=settings.provided.openai_embedding_model,
            service=openai_service,
        ),
        local=providers.Singleton(MiniLMEmbeddings, threads=settings.provided.embedding_threads),
        missing=providers.Object(None),
    )
    # Trained fewshot, local and lora models live in the workspace (models/); the chat model answers
    # with them when they are chosen with !use, and passes everything else to the base model.
    artifacts = providers.Selector(
        storage,
        filesystem=providers.Singleton(
            FilesystemArtifactStore, providers.Callable(lambda s: s.workspace / "models", settings)
        ),
        memory=providers.Singleton(InMemoryArtifactStore),
    )
    # The GGUF model in this process (llama.cpp), shared by every tenant: the base model offline,
    # and whatever answers as a lora: model (its adapter applied to these weights) whichever
    # backend answers the rest.
    embedded_llama = providers.Singleton(
        LlamaCppChatModel,
        model_path=settings.provided.gguf_model,
        context_tokens=settings.provided.gguf_context_tokens,
        max_tokens=providers.Callable(
            lambda s: min(s.max_answer_tokens or LOCAL_MAX_TOKENS, LOCAL_MAX_TOKENS), settings
        ),
        temperature=providers.Callable(
            lambda s: s.temperature if s.temperature is not None else 0.2, settings
        ),
    )
    # This tenant's view of it: its own lora: models' adapters, from its own models/ folder.
    embedded_chat_model = providers.Singleton(
        lambda llama, store, s: llama.with_adapters(
            functools.partial(lora_adapter_path, store), scope=str(s.workspace)
        ),
        embedded_llama,
        artifacts,
        settings,
    )
    # What answers with base models: OpenAI (or compatible), or the embedded model.
    base_chat_model = providers.Selector(
        providers.Callable(
            lambda s: "local" if s.resolved_chat_backend == "local" else _openai_or_missing(s),
            settings,
        ),
        openai=providers.Singleton(
            OpenAIChatModel,
            openai_client,
            service=openai_service,
            temperature=settings.provided.temperature,
            max_tokens=settings.provided.max_answer_tokens,
            # Servers other than OpenAI mostly know only the older parameter name.
            legacy_max_tokens=providers.Callable(lambda s: bool(s.openai_base_url), settings),
        ),
        missing=providers.Singleton(UnavailableChatModel, NO_OPENAI_SETTINGS),
        local=embedded_llama,
    )
    # One lora training process on this machine at a time, whichever tenant asked.
    lora_gate = providers.Singleton(asyncio.Semaphore, 1)
    openai_trainer = providers.Selector(
        providers.Callable(_openai_or_missing, settings),
        openai=providers.Singleton(
            OpenAIModelTrainer,
            openai_client,
            base_model=settings.provided.openai_finetune_model,
            service=openai_service,
            poll_interval=settings.provided.openai_poll_seconds,
            file_timeout=settings.provided.openai_file_timeout,
            max_example_tokens=settings.provided.max_example_tokens,
        ),
        missing=providers.Singleton(UnavailableModelTrainer, "openai", NO_OPENAI_SETTINGS),
    )
    chat_model = providers.Singleton(
        TrainedChatModel,
        base_chat_model,
        artifacts,
        embeddings=embeddings,
        k=settings.provided.fewshot_k,
        answer_threshold=settings.provided.fewshot_answer_threshold,
        min_similarity=settings.provided.fewshot_min_similarity,
        min_cosine=settings.provided.resolved_fewshot_min_cosine,
        max_example_chars=settings.provided.fewshot_max_example_chars,
        cache_size=settings.provided.trained_model_cache,
        semantic_threshold=settings.provided.fewshot_semantic_threshold,
        question_threshold=settings.provided.fewshot_question_threshold,
        lora_model=embedded_chat_model,
    )
    fewshot_trainer = providers.Singleton(
        FewShotModelTrainer, artifacts, base_model=default_model, embeddings=embeddings
    )
    trainers = providers.Dict(
        fewshot=fewshot_trainer,
        local=providers.Singleton(
            LocalModelTrainer, artifacts, chat_trainer=fewshot_trainer, embeddings=embeddings
        ),
        lora=providers.Singleton(
            LoraModelTrainer,
            artifacts,
            work_root=providers.Callable(_lora_work_root, settings),
            base_weights=providers.Callable(
                lambda s: functools.partial(_gguf_weights, s), settings
            ),
            base_model=providers.Callable(_embedded_model_name, settings),
            base_chat=embedded_llama,
            system_prompt=settings.provided.system_prompt,
            embeddings=embeddings,
            settings=providers.Callable(_lora_settings, settings),
            gate=lora_gate,
        ),
        openai=openai_trainer,
    )
    audio_converter = providers.Singleton(
        FfmpegAudioConverter,
        ffmpeg=providers.Callable(
            lambda s: str(s.ffmpeg_path) if s.ffmpeg_path else None, settings
        ),
        max_bytes=settings.provided.max_audio_bytes,
        # Decoding stops a little past the limit, so TranscribeVoice can say how long it was.
        max_seconds=settings.provided.max_audio_seconds,
    )

    _sphinx = _recognizer(settings, providers.Singleton(SphinxEngine), "sphinx")
    speech_to_text = providers.Selector(
        providers.Callable(lambda s: _engine(s.resolved_stt_engine, s), settings),
        sphinx=_sphinx,
        google=_recognizer(settings, providers.Singleton(GoogleEngine), "google"),
        # Whisper (the bundled multilingual base model, or TRAINERBOT_WHISPER_MODEL); should it
        # prove unusable (not installed, files not the pinned ones), sphinx, said once in the log.
        faster_whisper=providers.Singleton(
            FallbackSpeechToText,
            _recognizer(
                settings,
                providers.Singleton(
                    FasterWhisperEngine,
                    settings.provided.whisper_model,
                    cpu_threads=providers.Callable(_whisper_threads, settings),
                ),
                "faster_whisper",
            ),
            _sphinx,
            name="faster_whisper",
        ),
        openai=providers.Singleton(
            OpenAISpeechToText,
            openai_client,
            model=settings.provided.openai_stt_model,
            service=openai_service,
        ),
        missing=providers.Singleton(UnavailableSpeechToText, NO_OPENAI_SETTINGS),
    )
    espeak = providers.Singleton(EspeakTextToSpeech)
    _online_tts = providers.Selector(
        providers.Callable(lambda s: _engine(s.resolved_tts_engine, s), settings),
        gtts=providers.Singleton(GttsTextToSpeech),
        espeak=espeak,
        openai=providers.Singleton(
            OpenAITextToSpeech,
            openai_client,
            model=settings.provided.openai_tts_model,
            voice=settings.provided.openai_tts_voice,
            service=openai_service,
        ),
        missing=providers.Singleton(UnavailableTextToSpeech, NO_OPENAI_SETTINGS),
    )
    # The online voices fall back to the offline one (logged) unless told not to.
    text_to_speech = providers.Selector(
        providers.Callable(
            lambda s: (
                "alone"
                if s.tts_fallback == "none" or s.resolved_tts_engine == "espeak"
                else "with_fallback"
            ),
            settings,
        ),
        alone=_online_tts,
        with_fallback=providers.Singleton(
            FallbackTextToSpeech,
            _online_tts,
            espeak,
            name=providers.Callable(lambda s: f"{s.resolved_tts_engine}+espeak", settings),
        ),
    )
    # Spoken replies go to Discord voice channels when the bot runs in Discord.
    voice_output = providers.Selector(
        providers.Callable(_voice_key, settings),
        discord=providers.Singleton(
            DiscordVoice,
            ffmpeg=providers.Callable(resolve_ffmpeg, settings.provided.ffmpeg_path),
            idle_seconds=settings.provided.voice_idle_seconds,
        ),
        none=providers.Singleton(UnavailableVoiceOutput, NO_VOICE),
    )

    # Charts of test results and loss curves (matplotlib, drawn in a worker thread).
    charts = providers.Singleton(MatplotlibChartRenderer)
    token_counter = providers.Singleton(
        TiktokenTokenCounter,
        settings.provided.token_encoding,
        threads=settings.provided.token_threads,
    )

    # --- use cases ---------------------------------------------------------------------------
    # One limit per member, shared by text and voice messages.
    rate_limit = providers.Singleton(
        RateLimit,
        per_minute=settings.provided.rate_limit_per_minute,
        burst=settings.provided.rate_limit_burst,
    )
    answer_message = providers.Singleton(
        AnswerMessage,
        chat_model=chat_model,
        interactions=interactions,
        models=models,
        default_model=default_model,
        system_prompt=settings.provided.system_prompt,
        limits=limits,
        rate_limit=rate_limit,
        settings=tenant_settings,
    )
    link_reply = providers.Singleton(LinkReply, interactions=interactions)
    transcribe_voice = providers.Singleton(
        TranscribeVoice,
        converter=audio_converter,
        speech_to_text=speech_to_text,
        workspace=workspace,
        language=settings.provided.language,
        limits=limits,
        rate_limit=rate_limit,
    )
    speak_reply = providers.Singleton(
        SpeakReply,
        text_to_speech=text_to_speech,
        voice=voice_output,
        language=settings.provided.language,
        limits=limits,
    )
    train_model = providers.Singleton(
        TrainModel,
        trainers=trainers,
        default_trainer=providers.Callable(lambda s: s.resolved_trainer, settings),
        datasets=datasets,
        corrections=corrections,
        jobs=jobs,
        models=models,
        workspace=workspace,
        limits=limits,
        tokens=token_counter,
        settings=tenant_settings,
        system_prompt=settings.provided.system_prompt,
    )
    # Each trainer's latest !test, in memory, for !fix.
    recent_tests = providers.Singleton(RecentTests)
    test_model = providers.Singleton(
        TestModel,
        chat_model=chat_model,
        datasets=datasets,
        models=models,
        default_model=default_model,
        limits=limits,
        charts=charts,
        recent=recent_tests,
        jobs=jobs,
        trainers=trainers,
        workspace=workspace,
    )
    fix_failure = providers.Singleton(
        FixFailure, recent=recent_tests, corrections=corrections, limits=limits
    )
    record_correction = providers.Singleton(
        RecordCorrection, interactions=interactions, corrections=corrections, limits=limits
    )
    record_feedback = providers.Singleton(
        RecordFeedback, feedback=feedback, interactions=interactions, limits=limits
    )
    archive_files = providers.Singleton(ArchiveFiles, workspace=workspace)
    select_dataset = providers.Singleton(
        SelectDataset,
        workspace=workspace,
        datasets=datasets,
        limits=limits,
        tokens=token_counter,
    )
    get_file = providers.Singleton(GetFile, workspace=workspace, limits=limits)
    export_data = providers.Singleton(
        ExportData,
        datasets=datasets,
        corrections=corrections,
        feedback=feedback,
        interactions=interactions,
        workspace=workspace,
    )
    show_instructions = providers.Singleton(
        ShowInstructions,
        workspace=workspace,
        default_text=providers.Callable(_default_instructions),
        instruction_path=settings.provided.instruction_file,
    )
    list_jobs = providers.Singleton(ListJobs, jobs=jobs)
    refresh_job = providers.Singleton(RefreshJob, trainers=trainers, jobs=jobs, models=models)
    follow_job = providers.Singleton(
        FollowJob, refresh_job=refresh_job, poll_seconds=settings.provided.job_poll_seconds
    )
    cancel_job = providers.Singleton(CancelJob, trainers=trainers, jobs=jobs)
    list_models = providers.Singleton(ListModels, models=models, default_model=default_model)
    use_model = providers.Singleton(UseModel, models=models, default_model=default_model)
    manage_settings = providers.Singleton(
        ManageSettings,
        settings=tenant_settings,
        models=models,
        default_model=default_model,
        default_persona=settings.provided.system_prompt,
        default_trainer_role=settings.provided.trainer_role,
        limits=limits,
    )
    identify_member = providers.Singleton(
        IdentifyMember,
        settings=tenant_settings,
        default_trainer_role=settings.provided.trainer_role,
        owners=providers.Callable(lambda s: frozenset(map(str, s.owner_ids)), settings),
    )

    use_cases = providers.Singleton(
        UseCases,
        answer_message=answer_message,
        link_reply=link_reply,
        transcribe_voice=transcribe_voice,
        speak_reply=speak_reply,
        train_model=train_model,
        test_model=test_model,
        fix_failure=fix_failure,
        record_correction=record_correction,
        record_feedback=record_feedback,
        archive_files=archive_files,
        export_data=export_data,
        select_dataset=select_dataset,
        get_file=get_file,
        show_instructions=show_instructions,
        list_jobs=list_jobs,
        refresh_job=refresh_job,
        follow_job=follow_job,
        cancel_job=cancel_job,
        list_models=list_models,
        use_model=use_model,
        manage_settings=manage_settings,
        identify_member=identify_member,
    )
    # Every tenant's use cases, each over its own stores (Tenants).
    tenants = providers.Singleton(lambda root: Tenants(root), __self__)


# What every tenant shares with the root container that built it: the models, engines and
# clients (loaded once per process), the rate limit (per member, wherever they speak), the gate
# of lora training. Everything else — the workspace, the records, the trained models, the use
# cases over them — each tenant has its own.
SHARED = (
    "limits",
    "openai_client",
    "embeddings",
    "embedded_llama",
    "base_chat_model",
    "openai_trainer",
    "lora_gate",
    "audio_converter",
    "speech_to_text",
    "espeak",
    "text_to_speech",
    "voice_output",
    "charts",
    "token_counter",
    "rate_limit",
)
_NOT_DELEGATED = frozenset({"settings", "__self__", "tenants"})


def tenant_workspace(settings: Settings, tenant: Tenant) -> Path:
    """Where ``tenant``'s files live: ``<workspace>/servers/<tenant key>``."""
    return settings.workspace / TENANTS_FOLDER / tenant.key


def tenant_container(root: Container, tenant: Tenant) -> Container:
    """A container for ``tenant``: its own workspace and stores under ``tenant_workspace``, and
    the root's shared providers (``SHARED``), plus whatever a test or a program overrode in the
    root (an override applies to every tenant)."""
    settings: Settings = root.settings()
    child = Container(
        settings=settings.model_copy(update={"workspace": tenant_workspace(settings, tenant)})
    )
    for name, provider in root.providers.items():
        if name in _NOT_DELEGATED:
            continue
        if name in SHARED or provider.overridden:
            # Through a wrapper of its own: overriding with the root's provider itself would make
            # the root keep a reference to every tenant's provider (and so its whole container)
            # for as long as the process lives.
            getattr(child, name).override(providers.Callable(_same, provider))
    return child


def _same(value: object) -> object:
    return value


class Tenants:
    """Every tenant's use cases, built from the root container on first use and kept within
    ``TRAINERBOT_MAX_LOADED_TENANTS`` (see ``TenantRegistry``; with storage=memory all are kept:
    nothing could be loaded again)."""

    def __init__(self, root: Container) -> None:
        self._root = root
        settings: Settings = root.settings()
        limit = None if settings.storage == "memory" else settings.max_loaded_tenants
        self.registry: TenantRegistry[TenantScope] = TenantRegistry(self._build, max_loaded=limit)

    def scope(self, tenant: Tenant) -> TenantScope:
        return self.registry.get(tenant)

    def known(self) -> list[Tenant]:
        """The tenants that have data: on disk, or (storage=memory) those used so far."""
        settings: Settings = self._root.settings()
        if settings.storage == "memory":
            return self.registry.loaded_tenants()
        return known_tenants(settings.workspace / TENANTS_FOLDER)

    def with_jobs(self) -> list[Tenant]:
        """The tenants that ever started a training job (whose unfinished jobs a restarted bot
        follows again): found on disk without loading any tenant."""
        settings: Settings = self._root.settings()
        if settings.storage == "memory":
            return self.known()
        root = settings.workspace / TENANTS_FOLDER
        return [
            tenant
            for tenant in known_tenants(root)
            if (root / tenant.key / "records" / "jobs.jsonl").is_file()
        ]

    def adopt(self, tenant: Tenant) -> Adopted:
        """Move a single-tenant workspace's data (from before tenants) into ``tenant``."""
        settings: Settings = self._root.settings()
        return adopt(settings.workspace, TENANTS_FOLDER, tenant)

    def adopt_if_one_server(self) -> Adopted | None:
        """With exactly one server configured (``TRAINERBOT_DISCORD_GUILDS``), a workspace from
        before tenants (its ``records/`` hold files) becomes that server's. None when there is
        nothing to do, or when it cannot be done (logged: the bot starts anyway, and
        ``trainerbot adopt`` says why)."""
        settings: Settings = self._root.settings()
        if settings.storage != "filesystem" or len(settings.discord_guilds) != 1:
            return None
        items = legacy_items(settings.workspace, TENANTS_FOLDER)
        if not any(item.name == "records" and item.is_dir() for item in items):
            return None  # not trainerbot's data: an operator's files are not moved by surprise
        (guild,) = settings.discord_guilds
        try:
            return self.adopt(Tenant.server(guild))
        except TrainerbotError as error:
            log.warning("the workspace's data from before tenants was not adopted: %s", error)
            return None

    def use_cases(self, tenant: Tenant) -> UseCases:
        return self.scope(tenant).use_cases

    def container(self, tenant: Tenant) -> Container:
        # A DeclarativeContainer's instances are DynamicContainers: no isinstance check to make.
        return cast(Container, self.scope(tenant).resources)

    def _build(self, tenant: Tenant) -> TenantScope:
        child = tenant_container(self._root, tenant)
        return TenantScope(tenant=tenant, use_cases=child.use_cases(), resources=child)


def create_container(settings: Settings | None = None) -> Container:
    """The public entry for integrators: a container wired from ``settings`` (or the environment)."""
    return Container(settings=settings if settings is not None else Settings())


def create_bot(container: Container | None = None) -> TrainerBot:
    """The Discord bot, built from ``container`` (by default one from the environment).

    Run it with ``bot.run(token)``, or drive it with dpytest: ``dpytest.configure(bot)``, then
    ``await bot.setup_hook()`` adds its cogs. Each server (and each member's direct messages) is
    answered by its own tenant's use cases (``container.tenants()``); with exactly one server in
    ``TRAINERBOT_DISCORD_GUILDS``, a workspace from before tenants becomes that server's first
    (``Tenants.adopt_if_one_server``). Override the container's providers first to put other
    adapters behind it (an override applies to every tenant). It speaks in voice channels when
    the container's ``voice_output`` is a ``DiscordVoice`` (the default when a Discord token is
    configured).
    """
    container = container if container is not None else create_container()
    settings: Settings = container.settings()
    voice = container.voice_output()
    tenants: Tenants = container.tenants()
    adopted = tenants.adopt_if_one_server()
    if adopted is not None:
        log.warning("%s", adopted.summary())
    options = BotOptions(
        prefix=settings.command_prefix,
        guilds=settings.discord_guilds,
        channels=settings.discord_channels,
        answer_dms=settings.answer_dms,
        max_upload_bytes=settings.max_upload_bytes,
        max_audio_bytes=settings.max_audio_bytes,
        language=settings.language,
    )
    return build_bot(
        tenants.scope,
        options,
        voice=voice if isinstance(voice, DiscordVoice) else None,
        tenants=tenants.with_jobs,
    )
