"""Models: what answers (the base chat model, the trained models over it), the embeddings, the
token counter, and the one OpenAI client every OpenAI adapter shares.

Rules:
- Which adapter serves is the settings' decision (``Settings.chat_adapter``,
  ``Settings.embeddings_adapter``, ``Settings.openai_adapters``); the ``providers.Selector`` here
  only map each answer to its adapter. "missing" is an adapter that names the settings to set.
- The GGUF model (``embedded_llama``) is loaded once per process and shared by every tenant;
  ``embedded_chat_model`` is one workspace's view of it (its own ``lora:`` models' adapters).
- ``chat_model`` answers with the trained models chosen with ``!use`` (fewshot, local, lora) and
  passes everything else to ``base_chat_model``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from dependency_injector import providers
from pydantic import SecretStr

from trainerbot.adapters.embeddings import MiniLMEmbeddings, minilm_installed
from trainerbot.adapters.learning import ArtifactStore, TrainedChatModel, lora_adapter_path
from trainerbot.adapters.llama import LlamaCppChatModel
from trainerbot.adapters.openai import (
    OpenAIChatModel,
    OpenAIEmbeddings,
    make_client,
    service_name,
)
from trainerbot.adapters.tokens import TiktokenTokenCounter
from trainerbot.adapters.unavailable import UnavailableChatModel
from trainerbot.ports import ChatModel

from .configured import Configured, settings
from .storage import Storage

# What this configuration cannot do, said plainly to whoever asks for it.
NO_OPENAI_SETTINGS = (
    "OpenAI is chosen but not configured: set TRAINERBOT_OPENAI_API_KEY (or OPENAI_API_KEY), or "
    "TRAINERBOT_OPENAI_BASE_URL for a local OpenAI-compatible server."
)


def _revealed(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _workspace_view(
    llama: LlamaCppChatModel, artifacts: ArtifactStore, workspace: Path
) -> ChatModel:
    """The shared embedded model as one workspace sees it: its ``lora:`` models' adapters come
    from that workspace's artifacts, and its cached adapted models are its own."""
    return llama.with_adapters(
        functools.partial(lora_adapter_path, artifacts), scope=str(workspace)
    )


class LanguageModels(Configured):
    """The chat models, embeddings and token counting of one workspace."""

    default_model = settings.provided.resolved_chat_model

    # One client, built on first use, shared by every OpenAI adapter (speech and learning too).
    openai_client = providers.Singleton(
        make_client,
        api_key=providers.Callable(_revealed, settings.provided.openai_api_key),
        base_url=settings.provided.openai_base_url,
        timeout=settings.provided.openai_timeout,
        max_retries=settings.provided.openai_max_retries,
    )
    openai_service = providers.Callable(service_name, settings.provided.openai_base_url)

    # For fewshot retrieval and the local classifier; None: TF-IDF only.
    embeddings = providers.Selector(
        settings.provided.embeddings_adapter.call(
            local_installed=providers.Callable(minilm_installed)
        ),
        openai=providers.Singleton(
            OpenAIEmbeddings,
            openai_client,
            model=settings.provided.openai_embedding_model,
            service=openai_service,
        ),
        local=providers.Singleton(MiniLMEmbeddings, threads=settings.provided.embedding_threads),
        none=providers.Object(None),
    )
    # The GGUF model in this process (llama.cpp): the base model offline, and whatever answers as
    # a lora: model (its adapter applied to these weights) whichever backend answers the rest.
    embedded_llama = providers.Singleton(
        LlamaCppChatModel,
        model_path=settings.provided.gguf_model,
        context_tokens=settings.provided.gguf_context_tokens,
        max_tokens=settings.provided.embedded_max_tokens,
        temperature=settings.provided.embedded_temperature,
    )
    embedded_chat_model = providers.Singleton(
        _workspace_view, embedded_llama, Storage.artifacts, settings.provided.workspace
    )
    # What answers with base models: OpenAI (or compatible), or the embedded model.
    base_chat_model = providers.Selector(
        settings.provided.chat_adapter,
        openai=providers.Singleton(
            OpenAIChatModel,
            openai_client,
            service=openai_service,
            temperature=settings.provided.temperature,
            max_tokens=settings.provided.max_answer_tokens,
            # Servers other than OpenAI mostly know only the older parameter name.
            legacy_max_tokens=providers.Callable(bool, settings.provided.openai_base_url),
        ),
        missing=providers.Singleton(UnavailableChatModel, NO_OPENAI_SETTINGS),
        local=embedded_llama,
    )
    chat_model = providers.Singleton(
        TrainedChatModel,
        base_chat_model,
        Storage.artifacts,
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
    token_counter = providers.Singleton(
        TiktokenTokenCounter,
        settings.provided.token_encoding,
        threads=settings.provided.token_threads,
    )
