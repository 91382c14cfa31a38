"""TrainedChatModel: answers with the models the fewshot and local trainers made, and passes every
other model to the base chat model."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from trainerbot.core.entities import ChatMessage, Role
from trainerbot.core.errors import (
    CapabilityUnavailable,
    EmptyMessage,
    ServiceError,
    TrainerbotError,
    UnknownModel,
)
from trainerbot.core.text import command
from trainerbot.ports import ChatModel, Embeddings

from ._worker import Worker
from .artifacts import ArtifactStore, is_trained_id, parse_model_id, unpack
from .classifier import KIND as CLASSIFIER_KIND
from .classifier import TextClassifier
from .fewshot import KIND as FEWSHOT_KIND
from .fewshot import Entry, FewShotIndex, Lookup
from .lora import KIND as LORA_KIND


@dataclass(frozen=True)
class LoraModel:
    """A loaded ``lora:`` model: its taught examples (for recall) and whether to use them; the
    adapter itself is applied by the embedded runtime, which finds it by the model id."""

    index: FewShotIndex
    recall: bool


log = logging.getLogger(__name__)

FEWSHOT_NOTE = (
    "The conversation starts with questions this team asked before and the answers they want. "
    "Answer a question like one of them the same way; otherwise answer as usual."
)
# How many look-ups ``unwanted`` keeps for the ``stream`` or ``complete`` call that follows it
# for the same model and question (which takes it), so that the question is looked up once.
LOOKUP_CACHE = 64

Loaded = FewShotIndex | TextClassifier | LoraModel


class TrainedChatModel(ChatModel):
    """The chat model the bot answers with, in front of the base chat model.

    Rules:
    - A model id that is not ``fewshot:…``, ``local:…`` or ``lora:…`` goes to the base chat model
      unchanged: same messages, same id, its answer and its errors as they are.
    - A trained id must be well formed and have an artifact, else ``UnknownModel``. Artifacts are
      loaded in a worker thread and kept, the ``cache_size`` most recently used; an artifact never
      changes once written (its id is unique), so a cached model is never stale.
    - The question is the conversation's last user message (system messages and history are the
      base model's business); a conversation without one is ``EmptyMessage``.
    - A classifier answers with the label it predicts for the question; the base model is not asked.
      One trained with sentence embeddings is given the question's vector from ``embeddings``,
      which must be the same embedding model (``CapabilityUnavailable`` otherwise).
    - A fewshot model first looks the question up: a taught question that matches (similarity at
      least ``answer_threshold``, see ``matching``) is answered with its taught answer at once; so
      is one close in meaning to a taught example, when the index has vectors of the configured
      embedding model: cosine at least ``semantic_threshold`` to a taught question-and-answer, or
      at least ``question_threshold`` to a taught question alone. Else
      the base model answers, with the fewshot model's base model id, given: the conversation's
      system messages plus a note, then up to ``k`` most similar taught examples as user/assistant
      turns (most similar last, at most ``max_example_chars`` of them in all; none less similar
      than ``min_similarity`` by TF-IDF, or ``min_cosine`` by embeddings), then the
      conversation. Retrieval uses the embeddings adapter when the index was built with embeddings
      and one is configured (a failing embeddings service falls back to TF-IDF, logged).
    - A lora model looks the question up the same way when it was trained with recall on; else
      (or when nothing matches) ``lora_model`` — the embedded runtime, which applies the model's
      adapter to the base weights — answers the conversation as it is.
    - An answer marked "not this" (``wanted=False``) for the question is never a taught answer;
      ``unwanted`` names those answers (normalised) for a fewshot model, or a lora model with
      recall, so that the use case can withhold a generated reply repeating one (the rule is
      core's: ``core.unwanted``). Other models pass the base model's ``unwanted`` on.
    - ``stream`` answers as ``complete`` does, in pieces: a taught answer or a predicted label in
      one piece, a generated answer as the model that generates it streams it.
    - Every CPU step (loading, vectorising, predicting) runs in this adapter's worker threads; the
      loaded models are read-only, so concurrent questions share them safely.
    """

    def __init__(
        self,
        base: ChatModel,
        artifacts: ArtifactStore,
        *,
        embeddings: Embeddings | None = None,
        k: int = 4,
        answer_threshold: float = 1.0,
        min_similarity: float = 0.05,
        min_cosine: float = 0.0,
        max_example_chars: int = 4_000,
        cache_size: int = 8,
        max_workers: int = 2,
        semantic_threshold: float | None = None,
        question_threshold: float | None = None,
        lora_model: ChatModel | None = None,
    ) -> None:
        if not 0.0 < answer_threshold <= 1.0:
            raise ValueError("answer_threshold must be in (0, 1]")
        if k < 0 or cache_size < 1:
            raise ValueError("k must be >= 0 and cache_size >= 1")
        self._base = base
        self._artifacts = artifacts
        self._embeddings = embeddings
        self._k = k
        self._answer_threshold = answer_threshold
        self._min_similarity = min_similarity
        self._min_cosine = min_cosine
        self._max_example_chars = max_example_chars
        self._cache_size = cache_size
        self._semantic_threshold = semantic_threshold
        self._question_threshold = question_threshold
        self._lora_model = lora_model
        self._worker = Worker(max_workers, "trained-chat")
        self._cache: OrderedDict[str, Loaded] = OrderedDict()
        self._loading = asyncio.Lock()
        self._lookups: OrderedDict[tuple[str, str], tuple[Lookup, list[float] | None]] = (
            OrderedDict()
        )

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        plan = await self._plan(messages, model)
        if isinstance(plan, str):
            return plan
        chat, prompt, answering = plan
        return await chat.complete(prompt, model=answering)

    async def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        plan = await self._plan(messages, model)
        if isinstance(plan, str):
            if plan:
                yield plan
            return
        chat, prompt, answering = plan
        async for piece in chat.stream(prompt, model=answering):
            yield piece

    async def unwanted(self, messages: Sequence[ChatMessage], *, model: str) -> frozenset[str]:
        if not is_trained_id(model):
            return await self._base.unwanted(messages, model=model)
        parse_model_id(model)
        loaded = await self._model(model)
        question = last_user_text(messages)
        if not question.strip() or isinstance(loaded, TextClassifier):
            return frozenset()
        if isinstance(loaded, LoraModel):
            if not loaded.recall:
                return frozenset()
            loaded = loaded.index
        lookup, _ = await self._lookup(model, loaded, question, keep=True)
        return lookup.banned

    async def _plan(
        self, messages: Sequence[ChatMessage], model: str
    ) -> str | tuple[ChatModel, Sequence[ChatMessage], str]:
        """The answer when it is known without generating (a taught answer, a label), else who
        generates it: the chat model, the conversation it is given and the model id."""
        if not is_trained_id(model):
            return self._base, messages, model
        parse_model_id(model)
        loaded = await self._model(model)
        question = last_user_text(messages)
        if not question.strip():
            raise EmptyMessage()
        if isinstance(loaded, TextClassifier):
            # A classifier trained with embeddings needs the question's vector, of the same model.
            vectors = await loaded.vectors_for([question], self._embeddings)
            label: str = await self._worker.run(loaded.predict, question, vectors)
            return label
        if isinstance(loaded, LoraModel):
            if self._lora_model is None:
                raise CapabilityUnavailable(
                    "A lora model answers with the embedded chat model, which is not installed "
                    "(the 'local' extra)."
                )
            if loaded.recall:
                lookup, _ = await self._lookup(model, loaded.index, question)
                if lookup.answer is not None:
                    return lookup.answer
            return self._lora_model, messages, model
        lookup, query_vector = await self._lookup(model, loaded, question)
        if lookup.answer is not None:
            return lookup.answer
        nearest = await self._worker.run(
            loaded.nearest,
            question,
            self._k,
            # Embedding cosines and TF-IDF ones live on different scales: each has its floor.
            min_similarity=self._min_similarity if query_vector is None else self._min_cosine,
            query_vector=query_vector,
        )
        prompt = few_shot_prompt(messages, nearest, max_chars=self._max_example_chars)
        return self._base, prompt, loaded.base_model

    async def _lookup(
        self, model: str, index: FewShotIndex, question: str, *, keep: bool = False
    ) -> tuple[Lookup, list[float] | None]:
        """``_look_up``, or the one ``unwanted`` kept for this model and question (taken: the
        next call looks up again). ``keep``: keep this one for the call that follows."""
        key = (model, question)
        found = self._lookups.pop(key, None)
        if found is None:
            found = await self._look_up(index, question)
        if keep:
            self._lookups[key] = found
            while len(self._lookups) > LOOKUP_CACHE:
                self._lookups.popitem(last=False)
        return found

    async def _look_up(
        self, index: FewShotIndex, question: str
    ) -> tuple[Lookup, list[float] | None]:
        """The taught answer for ``question``, if any (lexical, then by meaning), and the
        question's vector when the index can use it. A question a taught one matches word for
        word is answered before it is embedded: the embedding is only paid for when needed."""
        lexical = await self._worker.run(index.lookup, question, self._answer_threshold)
        if lexical.answer is not None:
            return lexical, None
        query_vector = await self._query_vector(index, question)
        if query_vector is None:
            return lexical, None
        lookup = await self._worker.run(
            index.lookup,
            question,
            self._answer_threshold,
            query_vector=query_vector,
            semantic_threshold=self._semantic_threshold,
            question_threshold=self._question_threshold,
        )
        return lookup, query_vector

    async def _query_vector(self, index: FewShotIndex, question: str) -> list[float] | None:
        if self._embeddings is None or index.vector_length is None:
            return None
        if index.embeddings is not None and index.embeddings != self._embeddings.name:
            # Vectors of another embedding model do not compare: retrieve with TF-IDF instead.
            log.info(
                "the index was embedded with %s, not %s", index.embeddings, self._embeddings.name
            )
            return None
        try:
            vectors = await self._embeddings.embed([question])
        except TrainerbotError as error:
            log.warning("embedding the question failed, retrieving with TF-IDF: %s", error)
            return None
        return vectors[0] if vectors else None

    # --- loading -----------------------------------------------------------------------------

    async def _model(self, model_id: str) -> Loaded:
        cached = self._cached(model_id)
        if cached is not None:
            return cached
        # One load at a time: a burst of questions to a new model loads it once.
        async with self._loading:
            cached = self._cached(model_id)
            if cached is not None:
                return cached
            loaded = await self._worker.run(self._load, model_id)
            self._cache[model_id] = loaded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return loaded

    def _cached(self, model_id: str) -> Loaded | None:
        loaded = self._cache.get(model_id)
        if loaded is not None:
            self._cache.move_to_end(model_id)
        return loaded

    def _load(self, model_id: str) -> Loaded:
        """Runs in the worker: the artifact of ``model_id``, read and made ready to answer."""
        data = self._artifacts.load(model_id)
        if data is None:
            raise UnknownModel(f"There is no trained model {model_id}; see {command('models')}.")
        artifact = unpack(data, model_id)
        if artifact.kind == FEWSHOT_KIND:
            return FewShotIndex.from_artifact(artifact, model_id)
        if artifact.kind == CLASSIFIER_KIND:
            return TextClassifier.from_artifact(artifact, model_id)
        if artifact.kind == LORA_KIND:
            return LoraModel(
                index=FewShotIndex.from_artifact(artifact, model_id),
                recall=bool(artifact.manifest.get("recall", False)),
            )
        raise ServiceError(f"The model {model_id} is of a kind I do not know; train it again.")

    def close(self) -> None:
        self._worker.close()


def last_user_text(messages: Sequence[ChatMessage]) -> str:
    """The last user turn of a conversation (the question), or ``""`` when there is none."""
    for message in reversed(messages):
        if message.role is Role.USER:
            return message.content
    return ""


def few_shot_prompt(
    messages: Sequence[ChatMessage],
    nearest: Sequence[tuple[Entry, float]],
    *,
    max_chars: int,
) -> list[ChatMessage]:
    """The conversation with taught examples before it (``TrainedChatModel``'s rules).

    ``nearest`` is most similar first; examples are kept in that order while their questions and
    answers fit in ``max_chars`` together, then placed most similar last. With none kept, the
    conversation is returned unchanged.
    """
    chosen: list[Entry] = []
    used = 0
    for entry, _ in nearest:
        size = len(entry.question) + len(entry.answer)
        if used + size > max_chars:
            break
        chosen.append(entry)
        used += size
    if not chosen:
        return list(messages)
    leading = 0
    while leading < len(messages) and messages[leading].role is Role.SYSTEM:
        leading += 1
    system = "\n\n".join([*(m.content for m in messages[:leading]), FEWSHOT_NOTE])
    turns = [
        message
        for entry in reversed(chosen)
        for message in (
            ChatMessage(Role.USER, entry.question),
            ChatMessage(Role.ASSISTANT, entry.answer),
        )
    ]
    return [ChatMessage(Role.SYSTEM, system), *turns, *messages[leading:]]
