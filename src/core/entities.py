"""Entities: plain, immutable values of the domain. No I/O, no vendor types."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A short unique id such as ``cor-3f9a1c2b7d4e``: readable in chat, unique in practice."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- people and messages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who asks. ``can_train`` is decided by the driving adapter (trainer role, administrator)."""

    id: str
    name: str
    can_train: bool = False


@dataclass(frozen=True)
class TenantSettings:
    """What a tenant's trainers chose for it (``!persona``, ``!settings``); None: the configured
    default. The active model is the model registry's (``!use``)."""

    persona: str | None = None
    trainer_role: str | None = None


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role.value, "content": self.content}


class Source(StrEnum):
    """How a prompt reached the bot, as recorded on its interaction. The use case that answered
    it says which (``AnswerMessage``: typed, ``AnswerVoiceMessage``: voice); no request does."""

    TEXT = "text"
    VOICE = "voice"


@dataclass(frozen=True)
class Interaction:
    """One answered message: what was asked, by whom, which model answered and what it said.

    ``message_id`` is the platform id of the user's message; ``reply_message_ids`` are the ids of the
    bot's messages that carried the answer (known only after sending, so they are linked later).
    A correction can name either.
    """

    id: str
    conversation_id: str
    author_id: str
    message_id: str
    prompt: str
    reply: str
    model: str
    history: tuple[ChatMessage, ...] = ()
    source: Source = Source.TEXT
    reply_message_ids: tuple[str, ...] = ()
    created_at: datetime = field(default_factory=utcnow)

    def answers(self, message_id: str) -> bool:
        return message_id == self.message_id or message_id in self.reply_message_ids

    def with_reply_message(self, message_id: str) -> Interaction:
        if message_id in self.reply_message_ids:
            return self
        return replace(self, reply_message_ids=(*self.reply_message_ids, message_id))


# --- training data ---------------------------------------------------------------------------


class Task(StrEnum):
    """What a dataset teaches: free-text chat answers, or one label out of a fixed set."""

    CHAT = "chat"
    CLASSIFICATION = "classification"


POSITIVE = "positive"
# The canonical JSON an example's key hashes (what json.dumps(..., sort_keys=True) writes).
_KEY_ENCODER = json.JSONEncoder(sort_keys=True)
NEGATIVE = "negative"
# The first word of the origin of an example made from a correction ("correction cor-1a2b…").
CORRECTION_ORIGIN = "correction"


@dataclass(frozen=True)
class Example:
    """One training or test example.

    ``prompt`` is the conversation the model sees (ending with a user turn); ``completion`` is the
    answer wanted (for classification, the label). ``rejected`` is an answer not wanted — with a
    completion it makes a preference pair. ``wanted=False`` marks a chat example as what *not* to say
    (the original's ``positive=false``). ``origin`` says where it came from ("line 12", a correction id).
    """

    prompt: tuple[ChatMessage, ...]
    completion: str
    rejected: str | None = None
    wanted: bool = True
    origin: str = ""

    @property
    def user_text(self) -> str:
        """The last user turn: what the model is asked."""
        for message in reversed(self.prompt):
            if message.role is Role.USER:
                return message.content
        return ""

    @property
    def is_preference(self) -> bool:
        return self.rejected is not None

    @property
    def from_correction(self) -> bool:
        """Whether ``Correction.example`` made this example (its origin is ``correction <id>``;
        a file's examples say ``<file> line N`` or ``<file> item N``)."""
        kind, _, rest = self.origin.partition(" ")
        return kind == CORRECTION_ORIGIN and bool(rest) and " " not in rest

    def key(self) -> str:
        """Content identity (origin excluded): equal examples are duplicates."""
        payload = {
            "prompt": [m.to_dict() for m in self.prompt],
            "completion": self.completion,
            "rejected": self.rejected,
            "wanted": self.wanted,
        }
        # One encoder for every key: json.dumps would build one a call (a third of the time).
        return hashlib.sha256(_KEY_ENCODER.encode(payload).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "prompt": [m.to_dict() for m in self.prompt],
            "completion": self.completion,
        }
        if self.rejected is not None:
            data["rejected"] = self.rejected
        if not self.wanted:
            data["wanted"] = False
        if self.origin:
            data["origin"] = self.origin
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Example:
        return cls(
            prompt=tuple(ChatMessage(Role(m["role"]), m["content"]) for m in data["prompt"]),
            completion=data["completion"],
            rejected=data.get("rejected"),
            wanted=data.get("wanted", True),
            origin=data.get("origin", ""),
        )

    @classmethod
    def single_turn(cls, text: str, completion: str, **kwargs: Any) -> Example:
        return cls(prompt=(ChatMessage(Role.USER, text),), completion=completion, **kwargs)


TEST_SHARE_PERCENT = 20


@dataclass(frozen=True)
class Dataset:
    """A named, versioned set of examples. The version is a content hash, so equal data has one version."""

    name: str
    task: Task
    examples: tuple[Example, ...]
    source: str = ""
    # The labels a classifier chooses from, when they are more than these examples show (a split
    # keeps its parent's); None means the labels the examples carry.
    label_set: tuple[str, ...] | None = None
    # Whether the split may hold corrections out for testing (``!train holdout=true``); by
    # default every correction trains. Not part of the version: the content is the same.
    hold_out_corrections: bool = False

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.task.value.encode())
        for example in self.examples:
            digest.update(example.key().encode())
        return digest.hexdigest()[:12]

    @property
    def labels(self) -> tuple[str, ...]:
        if self.task is not Task.CLASSIFICATION:
            return ()
        if self.label_set is not None:
            return self.label_set
        return tuple(sorted({e.completion for e in self.examples}))

    def split(self, test_percent: int = TEST_SHARE_PERCENT) -> tuple[Dataset, Dataset]:
        """Deterministic train/test split by the hash of each example's question.

        Examples asking the same (ignoring case and spacing) always land on the same side, so the
        test part never asks what training already answered; and adding data never moves a test
        example into training (but for a correction asking the same, see below). Both parts keep
        the whole dataset's label set. When the test share would take every example (one
        correction is a dataset of one), nothing is held out.

        Corrections all train — someone who corrects the bot expects every correction to count —
        and so does any example asking what a correction asks; only with
        ``hold_out_corrections`` are they split like the rest.
        """
        always_train: set[str] = set()
        if not self.hold_out_corrections:
            always_train = {question_of(e.user_text) for e in self.examples if e.from_correction}
        train: list[Example] = []
        test: list[Example] = []
        for example in self.examples:
            question = question_of(example.user_text)
            if question in always_train:
                train.append(example)
                continue
            (test if in_test_part(question, test_percent) else train).append(example)
        if not train:
            train, test = test, []
        labels = self.labels
        return (
            replace(self, name=f"{self.name}:train", examples=tuple(train), label_set=labels),
            replace(self, name=f"{self.name}:test", examples=tuple(test), label_set=labels),
        )

    def with_examples(self, examples: Iterable[Example]) -> Dataset:
        return replace(self, examples=tuple(examples))


def question_of(text: str) -> str:
    """What the split compares: the question, ignoring case and spacing."""
    return " ".join(text.split()).casefold()


def in_test_part(question: str, test_percent: int = TEST_SHARE_PERCENT) -> bool:
    """Whether the split puts an example asking ``question`` (a ``question_of``) in the test
    part: by a hash of the question, so the same question always lands on the same side."""
    digest = hashlib.sha256(question.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < test_percent


# Earlier turns a correction's example may keep, in characters: a question that refers back needs
# the exchange just before it, not the whole conversation (which buried one-line facts under a
# thousand tokens).
CONTEXT_BUDGET_CHARS = 600
# A question of more words than this is taken to say by itself what it asks.
MAX_FOLLOW_UP_WORDS = 8
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
# Words that point back at something said before ("is that right", "what about it").
_REFERRING = frozenset(
    {
        *("it", "its", "that", "this", "these", "those", "then", "else", "same"),
        *("they", "them", "their", "theirs", "he", "him", "his", "she", "her", "hers"),
    }
)
# How a follow-up opens ("and tomorrow?", "what about Paris?", "how come?").
_FOLLOW_UP_OPENERS = (
    *(("and",), ("but",), ("or",), ("so",), ("also",), ("go", "on"), ("tell", "me", "more")),
    *(("what", "about"), ("how", "about"), ("what", "if"), ("what", "else"), ("which", "one")),
    *(("how", "come"), ("why", "not"), ("why", "so"), ("are", "you", "sure")),
)
# A question of one of these words alone asks about what was just said ("why?", "really?").
_BARE_FOLLOW_UPS = frozenset(
    {"why", "how", "what", "when", "where", "who", "which", "really", "sure"}
)


def refers_back(question: str) -> bool:
    """Whether ``question`` needs the conversation before it to be understood.

    A small, predictable heuristic (English): the question is short — at most
    ``MAX_FOLLOW_UP_WORDS`` words — and either is a bare ``why``/``how``/``really``…, opens like a
    follow-up ("and tomorrow?", "what about Paris?", "how come?", "are you sure?"), or points back
    with a pronoun or demonstrative ("is that right", "what about it", "who wrote them?"). A
    longer question is taken to say by itself what it asks. It errs towards keeping context: a
    short stand-alone question with "it" ("what time is it?") costs at most
    ``CONTEXT_BUDGET_CHARS`` characters more.
    """
    words = tuple(word.casefold() for word in _WORD.findall(question))
    if not words or len(words) > MAX_FOLLOW_UP_WORDS:
        return False
    if len(words) == 1 and words[0] in _BARE_FOLLOW_UPS:
        return True
    if any(words[: len(opener)] == opener for opener in _FOLLOW_UP_OPENERS):
        return True
    return any(word in _REFERRING for word in words)


def _context(history: tuple[ChatMessage, ...], question: str) -> tuple[ChatMessage, ...]:
    """What of ``history`` a correction's example keeps before ``question``: its system messages
    (instructions the model was given, such as a classifier's labels), and — only when the
    question ``refers_back`` — the last exchange (the last user turn and the answer after it),
    nearest message first, within ``CONTEXT_BUDGET_CHARS``; a nearest message over the budget is
    cut to it (its beginning kept)."""
    instructions = tuple(m for m in history if m.role is Role.SYSTEM)
    if not refers_back(question):
        return instructions
    turns = [m for m in history if m.role is not Role.SYSTEM]
    last_user = max((i for i, m in enumerate(turns) if m.role is Role.USER), default=0)
    kept: list[ChatMessage] = []
    budget = CONTEXT_BUDGET_CHARS
    for message in reversed(turns[last_user:]):
        if len(message.content) <= budget:
            kept.insert(0, message)
            budget -= len(message.content)
        else:
            if not kept:
                cut = message.content[: budget - 1].rstrip() + "…"
                kept.insert(0, replace(message, content=cut))
            break
    return (*instructions, *kept)


@dataclass(frozen=True)
class Correction:
    """A user's fix of a bot answer, kept with what was asked and what was wrongly answered."""

    id: str
    interaction_id: str
    message_id: str
    author_id: str
    prompt: str
    wrong_answer: str
    corrected: str
    model: str
    history: tuple[ChatMessage, ...] = ()
    created_at: datetime = field(default_factory=utcnow)

    def example(self) -> Example:
        """The training example a correction produces, centred on the corrected question.

        The prompt is the question alone when it stands on its own. When it depends on what was
        said before (``refers_back``: short and pointing back — "and tomorrow?", "why?", "is that
        right") the last user/assistant exchange before it comes first, never more than
        ``CONTEXT_BUDGET_CHARS`` characters of it; older turns are left out. System messages of
        the history (a classifier's label instruction) are kept. The corrected answer is the
        completion (a supervised example), with the wrong answer as ``rejected`` so the same
        example is a preference pair (corrected preferred over wrong) for trainers that take
        preferences; the others simply ignore ``rejected``. ``history`` itself stays whole on the
        correction.
        """
        return Example(
            prompt=(*_context(self.history, self.prompt), ChatMessage(Role.USER, self.prompt)),
            completion=self.corrected,
            rejected=self.wrong_answer,
            origin=f"{CORRECTION_ORIGIN} {self.id}",
        )


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class Feedback:
    """A remark about the bot, optionally about one answer, optionally a thumbs up or down."""

    id: str
    author_id: str
    text: str
    rating: Rating | None = None
    interaction_id: str | None = None
    message_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)


# --- audio -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioClip:
    """Encoded audio as received or synthesised (ogg/opus, wav, mp3, ...)."""

    data: bytes
    filename: str = "audio"
    content_type: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class PcmAudio:
    """Decoded audio: little-endian signed 16-bit mono samples."""

    samples: bytes
    sample_rate: int = 16_000

    @property
    def duration_seconds(self) -> float:
        return len(self.samples) / 2 / self.sample_rate


@dataclass(frozen=True)
class Transcript:
    """What speech recognition heard. Empty ``text`` means nothing recognisable (not an error)."""

    text: str
    language: str
    confidence: float | None = None
    engine: str = ""

    @property
    def heard_anything(self) -> bool:
        return bool(self.text.strip())


# --- training jobs and models ----------------------------------------------------------------


class JobStatus(StrEnum):
    """The domain's own job states; trainers map their provider's states onto these."""

    VALIDATING = "validating"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


@dataclass(frozen=True)
class TrainingSpec:
    """What a trainer is asked to do."""

    dataset: Dataset
    validation: Dataset | None = None
    base_model: str | None = None
    suffix: str | None = None
    seed: int | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    # The system prompt the trained model will answer under (the tenant's persona), for trainers
    # that train with it.
    system_prompt: str | None = None


@dataclass(frozen=True)
class TrainingJob:
    """A training run as the domain tracks it. Each change is stored as a new version of the job."""

    id: str
    trainer: str
    status: JobStatus
    dataset_name: str
    dataset_version: str
    example_count: int
    requested_by: str
    base_model: str | None = None
    provider_job_id: str | None = None
    model: str | None = None
    error: str | None = None
    # What the provider holds for this job (uploaded file ids), so a restart can resume or clean up.
    provider_files: tuple[str, ...] = ()
    # The provider's latest progress: recent event messages, and the last checkpoint's metrics
    # (step, train_loss, valid_loss...).
    events: tuple[str, ...] = ()
    metrics: Mapping[str, float] = field(default_factory=dict)
    # Where the job was started, as the driving adapter wrote it (a Discord channel and message),
    # so its outcome can be posted there even after a restart. Opaque to the core.
    origin: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def with_status(self, status: JobStatus, **changes: Any) -> TrainingJob:
        return replace(self, status=status, updated_at=utcnow(), **changes)


@dataclass(frozen=True)
class LossPoint:
    """A training job's loss at one step: training loss, validation loss, or both (None: unknown)."""

    step: int
    train_loss: float | None = None
    valid_loss: float | None = None


@dataclass(frozen=True)
class TrainedModel:
    """A model the bot can answer with: a base model or the result of a training job."""

    id: str
    trainer: str | None = None
    job_id: str | None = None
    dataset_version: str | None = None
    base_model: str | None = None
    created_at: datetime = field(default_factory=utcnow)


# --- workspace -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceFile:
    """A file inside the workspace: its workspace-relative POSIX path and size."""

    path: str
    size: int


@dataclass(frozen=True)
class FileContent:
    path: str
    data: bytes

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Archive:
    """A zip of a workspace folder, with a manifest of what it holds."""

    path: str
    source: str
    files: tuple[ManifestEntry, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)
