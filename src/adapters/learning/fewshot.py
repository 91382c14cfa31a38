"""The ``fewshot`` trainer: training without changing weights.

The examples become an index; the trained model is "the base chat model, plus the examples most
like the question in its prompt" — and, for a question the examples already answer, that answer.
``TrainedChatModel`` does the answering; this module builds, saves and reads the index.
"""

from __future__ import annotations

import io
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from trainerbot.core.entities import (
    Example,
    JobStatus,
    TrainingJob,
    TrainingSpec,
    utcnow,
)
from trainerbot.core.errors import InvalidArgument, ServiceError, TrainerbotError
from trainerbot.core.evaluation import normalize
from trainerbot.core.text import plural
from trainerbot.ports import Embeddings, ModelTrainer

from ._worker import Worker
from .artifacts import (
    FEWSHOT,
    Artifact,
    ArtifactStore,
    is_trained_id,
    model_id_for,
    pack,
)
from .matching import key_similarity, question_key

log = logging.getLogger(__name__)

KIND = "fewshot"
EXAMPLES_FILE = "examples.jsonl"
VECTORS_FILE = "vectors.npy"
PAIR_VECTORS_FILE = "pair_vectors.npy"
TFIDF = "tf-idf"
EMBEDDINGS = "embeddings"
INTERRUPTED = "The training was interrupted before its model was saved; train again."

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Entry:
    """One indexed example: the question (its last user turn), its answer, and whether wanted."""

    question: str
    answer: str
    wanted: bool
    key: tuple[str, ...]


@dataclass(frozen=True)
class Lookup:
    """What the index says about a question before any model is asked.

    ``answer``: the taught answer when a taught question matches (else ``None``); ``banned``: the
    normalised answers marked "not this" (``wanted=False``) for a matching question.
    """

    answer: str | None
    banned: frozenset[str]


class FewShotIndex:
    """The examples of one fewshot model, ready to answer from.

    Rules:
    - Wanted examples are answers; unwanted ones (``wanted=False``) are only bans: never an answer,
      never shown to the model. A preference example's ``rejected`` answer is ignored (not shown —
      a small model tends to repeat what it is shown — and not a ban, since a later correction may
      rightly restore it).
    - ``lookup``: the wanted examples whose question matches (``matching`` module) with similarity
      at least ``threshold`` answer directly — the most similar, and among equals the latest in the
      data (corrections are recorded in order, so the newest teaching wins) — unless their answer is
      banned for that question, in which case the next one does, or none.
    - ``nearest``: the ``k`` wanted examples most like the question — by embedding cosine when the
      index has vectors and a query vector of their length is given, else by TF-IDF cosine over
      character n-grams of the questions — most similar first, those under ``min_similarity`` left
      out.
    - Immutable once built, so one index serves concurrent threads.
    """

    def __init__(
        self,
        examples: Sequence[Example],
        *,
        base_model: str,
        vectors: FloatArray | None = None,
        embeddings: str | None = None,
        pair_vectors: FloatArray | None = None,
    ) -> None:
        self.base_model = base_model
        # The embedding model that made ``vectors``: questions must be embedded by the same one.
        self.embeddings = embeddings if vectors is not None else None
        self.entries: tuple[Entry, ...] = tuple(
            Entry(e.user_text, e.completion, e.wanted, question_key(e.user_text)) for e in examples
        )
        self._wanted = tuple(i for i, entry in enumerate(self.entries) if entry.wanted)
        self._by_key: dict[tuple[str, ...], list[int]] = {}
        for index, entry in enumerate(self.entries):
            self._by_key.setdefault(entry.key, []).append(index)
        self._vectors = _unit_rows(vectors) if vectors is not None else None
        if self._vectors is not None and self._vectors.shape[0] != len(self._wanted):
            raise ValueError(
                f"{self._vectors.shape[0]} vectors for {len(self._wanted)} wanted examples"
            )
        # Vectors of each wanted example's question and answer together ("Who approves expense
        # reports? Dmitri Volkov approves them."): a question in other words is closer to what
        # was taught as a whole than to the taught question's words alone.
        self._pair_vectors = (
            _unit_rows(pair_vectors)
            if pair_vectors is not None and self._vectors is not None
            else None
        )
        if self._pair_vectors is not None and self._pair_vectors.shape != self._vectors.shape:  # type: ignore[union-attr]
            raise ValueError("pair vectors must match the question vectors")
        self._vectorizer: Any = None
        self._matrix: Any = None  # scipy sparse: documents × n-grams
        questions = [self.entries[i].question for i in self._wanted]
        if questions:
            from sklearn.feature_extraction.text import TfidfVectorizer

            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
            try:
                self._matrix = vectorizer.fit_transform(questions)
                self._vectorizer = vectorizer
            except ValueError:  # no n-gram at all (every question blank): no lexical retrieval
                log.warning("fewshot index: the questions give no TF-IDF features")

    @property
    def retrieval(self) -> str:
        return EMBEDDINGS if self._vectors is not None else TFIDF

    @property
    def vector_length(self) -> int | None:
        return None if self._vectors is None else int(self._vectors.shape[1])

    @property
    def answer_count(self) -> int:
        return len(self._wanted)

    def lookup(
        self,
        question: str,
        threshold: float,
        *,
        query_vector: Sequence[float] | None = None,
        semantic_threshold: float | None = None,
        question_threshold: float | None = None,
    ) -> Lookup:
        key = question_key(question)
        if threshold >= 1.0:
            matches = [(1.0, i) for i in self._by_key.get(key, ())] if key else []
        else:
            matches = [
                (similarity, i)
                for i, entry in enumerate(self.entries)
                if (similarity := key_similarity(key, entry.key)) >= threshold
            ]
        banned = frozenset(
            normalize(self.entries[i].answer) for _, i in matches if not self.entries[i].wanted
        )
        candidates = sorted(
            (
                (similarity, i)
                for similarity, i in matches
                if self.entries[i].wanted and normalize(self.entries[i].answer) not in banned
            ),
            reverse=True,
        )
        answer = self.entries[candidates[0][1]].answer if candidates else None
        if answer is None and semantic_threshold is not None:
            answer = self._closest_in_meaning(
                query_vector, self._pair_vectors, semantic_threshold, banned
            )
        if answer is None and question_threshold is not None:
            answer = self._closest_in_meaning(
                query_vector, self._vectors, question_threshold, banned
            )
        return Lookup(answer=answer, banned=banned)

    def _closest_in_meaning(
        self,
        query_vector: Sequence[float] | None,
        vectors: FloatArray | None,
        threshold: float,
        banned: frozenset[str],
    ) -> str | None:
        """The answer of the wanted example nearest in meaning by ``vectors`` (embedding cosine
        at least ``threshold``; among equals the latest), unless banned."""
        if vectors is None or query_vector is None or len(query_vector) != vectors.shape[1]:
            return None
        query = _unit_rows(np.asarray([query_vector], dtype=np.float32))[0]
        scores = vectors @ query
        for j in np.argsort(-scores, kind="stable"):
            if scores[int(j)] < threshold:
                return None
            entry = self.entries[self._wanted[int(j)]]
            if normalize(entry.answer) not in banned:
                # Ties: the latest teaching wins, as in the lexical lookup.
                ties = [
                    int(i)
                    for i in np.flatnonzero(np.isclose(scores, scores[int(j)]))
                    if normalize(self.entries[self._wanted[int(i)]].answer) not in banned
                ]
                return self.entries[self._wanted[max(ties)]].answer
        return None

    def nearest(
        self,
        question: str,
        k: int,
        *,
        min_similarity: float = 0.0,
        query_vector: Sequence[float] | None = None,
    ) -> list[tuple[Entry, float]]:
        if k <= 0 or not self._wanted:
            return []
        scores = self._scores(question, query_vector)
        if scores is None:
            return []
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            (self.entries[self._wanted[int(j)]], float(scores[int(j)]))
            for j in order
            if scores[int(j)] >= min_similarity and scores[int(j)] > 0.0
        ]

    def _scores(
        self, question: str, query_vector: Sequence[float] | None
    ) -> npt.NDArray[np.float64] | None:
        if (
            self._vectors is not None
            and query_vector is not None
            and len(query_vector) == self._vectors.shape[1]
        ):
            query = _unit_rows(np.asarray([query_vector], dtype=np.float32))[0]
            return np.asarray(self._vectors @ query, dtype=np.float64)
        if self._vectorizer is None or self._matrix is None:
            return None
        query_matrix = self._vectorizer.transform([question])
        return np.asarray((self._matrix @ query_matrix.T).toarray().ravel(), dtype=np.float64)

    # --- the artifact ------------------------------------------------------------------------

    def artifact(self, manifest: Mapping[str, Any]) -> Artifact:
        """This index as an artifact: the examples as JSON Lines, the vectors as ``.npy``."""
        lines = [
            json.dumps(
                {"question": e.question, "answer": e.answer, "wanted": e.wanted},
                ensure_ascii=False,
            )
            for e in self.entries
        ]
        files = {EXAMPLES_FILE: ("\n".join(lines) + "\n").encode("utf-8")}
        for name, array in ((VECTORS_FILE, self._vectors), (PAIR_VECTORS_FILE, self._pair_vectors)):
            if array is not None:
                buffer = io.BytesIO()
                np.save(buffer, array, allow_pickle=False)
                files[name] = buffer.getvalue()
        return Artifact(
            manifest={
                **manifest,
                "kind": KIND,
                "base_model": self.base_model,
                "retrieval": self.retrieval,
                **({"embeddings": self.embeddings} if self.embeddings else {}),
            },
            files=files,
        )

    @classmethod
    def from_artifact(cls, artifact: Artifact, model_id: str) -> FewShotIndex:
        """The index an artifact holds (the TF-IDF part is rebuilt: milliseconds, no pickle)."""
        unreadable = ServiceError(f"The model {model_id} cannot be read; train it again.")
        try:
            base_model = artifact.manifest["base_model"]
            text = artifact.files[EXAMPLES_FILE].decode("utf-8")
            examples = []
            for line in text.splitlines():
                if not line.strip():
                    continue
                record = json.loads(line)
                examples.append(
                    Example.single_turn(
                        str(record["question"]), str(record["answer"]), wanted=record["wanted"]
                    )
                )
            vectors, pair_vectors = (
                np.asarray(
                    np.load(io.BytesIO(artifact.files[name]), allow_pickle=False),
                    dtype=np.float32,
                )
                if name in artifact.files
                else None
                for name in (VECTORS_FILE, PAIR_VECTORS_FILE)
            )
            if not isinstance(base_model, str) or not base_model:
                raise ValueError("no base model")
            embeddings = artifact.manifest.get("embeddings")
            return cls(
                examples,
                base_model=base_model,
                vectors=vectors,
                embeddings=str(embeddings) if embeddings else None,
                pair_vectors=pair_vectors,
            )
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as error:
            log.warning("fewshot artifact %s is damaged: %s", model_id, error)
            raise unreadable from None


def _unit_rows(vectors: npt.ArrayLike) -> FloatArray:
    """Rows scaled to length 1 (zero rows stay zero), as float32."""
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError("vectors must be a 2-d array")
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    unit: FloatArray = np.divide(array, norms, out=np.zeros_like(array), where=norms > 0)
    return unit


def base_manifest(model_id: str, job: TrainingJob, spec: TrainingSpec) -> dict[str, Any]:
    """What every artifact records about where it came from."""
    return {
        "model": model_id,
        "job": job.id,
        "trainer": job.trainer,
        "dataset": spec.dataset.name,
        "dataset_version": job.dataset_version,
        "task": spec.dataset.task.value,
        "examples": len(spec.dataset.examples),
        "created_at": utcnow().isoformat(),
    }


class FewShotModelTrainer(ModelTrainer):
    """The ``fewshot`` trainer: indexes the examples; training is immediate.

    Rules:
    - ``start`` indexes the training examples (every example of the spec's dataset: chat data,
      corrections, or labelled text), saves the index as the artifact of model
      ``fewshot:<dataset>-<job hex>``, and returns the job ``SUCCEEDED`` with that model and the
      base model it answers with: the spec's ``base_model``, else the one this trainer was given.
      A trained (``fewshot:``/``local:``) model cannot be a base model (``InvalidArgument``).
    - With an ``Embeddings`` adapter the wanted examples' questions are embedded and the vectors
      saved with the index; if embedding fails the index uses TF-IDF instead (logged, and said in
      the job's events) — training does not depend on the embeddings service being up.
    - Fitting and saving run in this trainer's own worker thread(s), never on the event loop.
    - ``refresh`` of a finished job returns it unchanged. A job left unfinished (the process
      stopped during its start) is settled: ``SUCCEEDED`` if its artifact was saved, else ``FAILED``.
    - ``cancel``: there is nothing running to stop; an unfinished job is marked ``CANCELLED``
      (``CancelJob`` refuses finished jobs before asking).
    """

    def __init__(
        self,
        artifacts: ArtifactStore,
        *,
        base_model: str,
        embeddings: Embeddings | None = None,
        max_workers: int = 1,
    ) -> None:
        self._artifacts = artifacts
        self._base_model = base_model
        self._embeddings = embeddings
        self._worker = Worker(max_workers, "fewshot-train")
        self._starting: set[str] = set()

    @property
    def name(self) -> str:
        return "fewshot"

    @property
    def min_examples(self) -> int:
        return 1

    async def start(self, spec: TrainingSpec, *, job: TrainingJob) -> TrainingJob:
        base_model = spec.base_model or self._base_model
        if is_trained_id(base_model):
            raise InvalidArgument(
                f"A fewshot model answers with a base model, not with {base_model[:80]}."
            )
        model_id = model_id_for(FEWSHOT, job)
        self._starting.add(job.id)
        try:
            embedded = await embed_questions(self._embeddings, spec.dataset.examples)
            index = await self._worker.run(
                self._build_and_save, model_id, job, spec, base_model, embedded
            )
        finally:
            self._starting.discard(job.id)
        examples = len(index.entries)
        unwanted = examples - index.answer_count
        summary = f"indexed {plural(examples, 'example')} with {index.retrieval}"
        if unwanted:
            summary += f" ({unwanted} marked not to say)"
        events = (summary,) if embedded.note is None else (embedded.note, summary)
        return job.with_status(
            JobStatus.SUCCEEDED,
            model=model_id,
            base_model=base_model,
            events=events,
            metrics={"examples": float(examples), "answers": float(index.answer_count)},
        )

    def _build_and_save(
        self,
        model_id: str,
        job: TrainingJob,
        spec: TrainingSpec,
        base_model: str,
        embedded: Embedded,
    ) -> FewShotIndex:
        index = embedded.index(spec.dataset.examples, base_model)
        self._artifacts.save(model_id, pack(index.artifact(base_manifest(model_id, job, spec))))
        return index

    async def refresh(self, job: TrainingJob) -> TrainingJob:
        return await settle(job, FEWSHOT, self._artifacts, self._worker, self._starting)

    async def cancel(self, job: TrainingJob) -> TrainingJob:
        return job if job.status.is_final else job.with_status(JobStatus.CANCELLED)

    def close(self) -> None:
        self._worker.close()


async def settle(
    job: TrainingJob, kind: str, artifacts: ArtifactStore, worker: Worker, starting: set[str]
) -> TrainingJob:
    """The state of an immediate trainer's job: as recorded when final or still starting here,
    else decided by whether its artifact exists."""
    if job.status.is_final or job.id in starting:
        return job
    model_id = model_id_for(kind, job)
    if await worker.run(artifacts.exists, model_id):
        return job.with_status(JobStatus.SUCCEEDED, model=model_id)
    return job.with_status(JobStatus.FAILED, error=INTERRUPTED)


@dataclass(frozen=True)
class Embedded:
    """The vectors a trainer made for an index: of each wanted example's question and of its
    question with its answer, by the embedding model ``name``; or none, and ``note`` says why."""

    vectors: FloatArray | None = None
    pair_vectors: FloatArray | None = None
    name: str | None = None
    note: str | None = None

    def index(self, examples: Sequence[Example], base_model: str) -> FewShotIndex:
        return FewShotIndex(
            examples,
            base_model=base_model,
            vectors=self.vectors,
            embeddings=self.name,
            pair_vectors=self.pair_vectors,
        )


def usable_vectors(vectors: Sequence[Sequence[float]], count: int) -> bool:
    """``count`` vectors of one non-zero length, all finite."""
    lengths = {len(vector) for vector in vectors}
    return (
        len(vectors) == count
        and len(lengths) == 1
        and 0 not in lengths
        and all(math.isfinite(x) for vector in vectors for x in vector)
    )


async def embed_or_why_not(
    embeddings: Embeddings, texts: Sequence[str], instead: str
) -> tuple[list[list[float]] | None, str | None]:
    """``(vectors of texts, None)``, or ``(None, a note)`` saying why there are none — the
    embeddings failed or gave unusable vectors — and what is done ``instead``. Training never
    depends on the embeddings."""
    try:
        vectors = await embeddings.embed(texts)
    except TrainerbotError as error:
        log.warning("embedding %d texts failed (%s): %s", len(texts), instead, error)
        return None, f"embeddings unavailable ({error}); {instead}"
    if not usable_vectors(vectors, len(texts)):
        log.warning("the embeddings adapter returned unusable vectors (%s)", instead)
        return None, f"embeddings unusable; {instead}"
    return vectors, None


async def embed_questions(embeddings: Embeddings | None, examples: Sequence[Example]) -> Embedded:
    """The vectors of the wanted examples (``Embedded``), or none when the index must use TF-IDF
    (no embeddings adapter, or it failed: said in ``note``)."""
    wanted = [e for e in examples if e.wanted]
    if embeddings is None or not wanted:
        return Embedded()
    texts = [e.user_text for e in wanted] + [f"{e.user_text} {e.completion}" for e in wanted]
    vectors, note = await embed_or_why_not(embeddings, texts, "indexed with TF-IDF instead")
    if vectors is None:
        return Embedded(note=note)
    array = np.asarray(vectors, dtype=np.float32)
    return Embedded(array[: len(wanted)], array[len(wanted) :], embeddings.name)
