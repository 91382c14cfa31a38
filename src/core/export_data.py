"""ExportData: datasets, corrections and feedback written out as JSON Lines for people and tools."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from trainerbot.ports import (
    CorrectionStore,
    DatasetStore,
    FeedbackStore,
    InteractionLog,
    Workspace,
)

from .access import require_trainer
from .entities import Actor, Dataset, Example, FileContent, Rating, Role, Task
from .errors import EmptyDataset, UnknownDataset
from .text import plural


@dataclass(frozen=True)
class ExportRequest:
    """``dataset``: a saved dataset's name; None exports the corrections and the feedback."""

    actor: Actor
    dataset: str | None = None


@dataclass(frozen=True)
class ExportedFile:
    file: FileContent
    lines: int
    what: str  # "supervised chat examples (OpenAI chat format)", ...


@dataclass(frozen=True)
class ExportResult:
    files: tuple[ExportedFile, ...]


def example_line(example: Example) -> dict[str, Any]:
    """A chat example as a line a fine-tuning service (and ``!train``) reads back: OpenAI's chat
    format, the prompt's turns then the answer; an example marked not wanted keeps
    ``"wanted": false`` (trainerbot's own key)."""
    messages = [message.to_dict() for message in example.prompt]
    line: dict[str, Any] = {
        "messages": [*messages, {"role": Role.ASSISTANT.value, "content": example.completion}]
    }
    if not example.wanted:
        line["wanted"] = False
    return line


def preference_line(example: Example) -> dict[str, Any]:
    """A preference pair in OpenAI's preference (DPO) format: the answer wanted over ``rejected``."""
    if example.rejected is None:
        raise ValueError("not a preference pair")
    return {
        "input": {"messages": [message.to_dict() for message in example.prompt]},
        "preferred_output": [{"role": Role.ASSISTANT.value, "content": example.completion}],
        "non_preferred_output": [{"role": Role.ASSISTANT.value, "content": example.rejected}],
    }


def _jsonl(lines: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()


class ExportData:
    """Write data out as JSON Lines into the workspace's ``exports/`` folder.

    Rules:
    - Trainers only.
    - With a dataset name: that saved dataset (its latest version) — labelled examples as
      ``{"text", "label"}`` lines, chat examples in OpenAI's chat format, and its preference pairs
      once more in OpenAI's preference format. An unknown name lists the saved ones.
    - Without: the recorded corrections, as supervised chat examples (the conversation, then the
      corrected answer) and as preference pairs (corrected over the wrong answer); and every 👎
      answer nobody has corrected yet, for review (the question, the answer, the remark). Nothing
      recorded is ``EmptyDataset``, saying so.
    - Files are new files (a time stamp in the name; nothing is overwritten), each written whole.
      Every file written is a format ``!train`` reads back.
    """

    def __init__(
        self,
        *,
        datasets: DatasetStore,
        corrections: CorrectionStore,
        feedback: FeedbackStore,
        interactions: InteractionLog,
        workspace: Workspace,
    ) -> None:
        self._datasets = datasets
        self._corrections = corrections
        self._feedback = feedback
        self._interactions = interactions
        self._workspace = workspace

    async def execute(self, request: ExportRequest) -> ExportResult:
        require_trainer(request.actor)
        if request.dataset is not None:
            return ExportResult(await self._dataset(request.dataset))
        return ExportResult(await self._recorded())

    async def _dataset(self, name: str) -> tuple[ExportedFile, ...]:
        dataset = await self._datasets.get(name)
        if dataset is None:
            names = await self._datasets.names()
            known = ", ".join(names) if names else "none yet"
            raise UnknownDataset(f"There is no dataset {name!r} (saved: {known}).")
        if not dataset.examples:
            raise EmptyDataset(f"The dataset {name} has no examples.")
        stem = f"{dataset.name}-{dataset.version}"
        files = [await self._write(f"{stem}.jsonl", _dataset_lines(dataset), _kind(dataset))]
        pairs = [e for e in dataset.examples if e.rejected is not None]
        if pairs:
            files.append(
                await self._write(
                    f"{stem}-preference.jsonl",
                    [preference_line(e) for e in pairs],
                    "preference pairs (OpenAI preference format)",
                )
            )
        return tuple(files)

    async def _recorded(self) -> tuple[ExportedFile, ...]:
        corrections = await self._corrections.all()
        corrected = {c.message_id for c in corrections if c.message_id}
        corrected |= {c.interaction_id for c in corrections if c.interaction_id}
        review = [
            item
            for item in await self._feedback.all()
            if item.rating is Rating.DOWN
            and not ({item.message_id, item.interaction_id} & corrected - {None})
        ]
        if not corrections and not review:
            raise EmptyDataset(
                "No corrections and no 👎 answers are recorded yet: nothing to export."
            )
        files = []
        if corrections:
            examples = [c.example() for c in corrections]
            files.append(
                await self._write(
                    "corrections.jsonl",
                    [example_line(_without_rejected(e)) for e in examples],
                    "corrections as chat examples (OpenAI chat format)",
                )
            )
            files.append(
                await self._write(
                    "corrections-preference.jsonl",
                    [preference_line(e) for e in examples],
                    "corrections as preference pairs (OpenAI preference format)",
                )
            )
        if review:
            lines = []
            for item in review:
                answer = (
                    await self._interactions.find_by_message(item.message_id)
                    if item.message_id
                    else None
                )
                lines.append(
                    {
                        "feedback": item.id,
                        "message_id": item.message_id,
                        "question": answer.prompt if answer else None,
                        "answer": answer.reply if answer else None,
                        "model": answer.model if answer else None,
                        "remark": item.text,
                        "at": item.created_at.isoformat(),
                    }
                )
            files.append(
                await self._write(
                    "feedback-review.jsonl",
                    lines,
                    f"{plural(len(review), '👎 answer')} with no correction yet, to review",
                )
            )
        return tuple(files)

    async def _write(self, name: str, lines: list[dict[str, Any]], what: str) -> ExportedFile:
        written = await self._workspace.export(name, _jsonl(lines))
        return ExportedFile(file=written, lines=len(lines), what=what)


def _without_rejected(example: Example) -> Example:
    return replace(example, rejected=None)


def _dataset_lines(dataset: Dataset) -> list[dict[str, Any]]:
    if dataset.task is Task.CLASSIFICATION:
        return [{"text": e.user_text, "label": e.completion} for e in dataset.examples]
    return [example_line(_without_rejected(e)) for e in dataset.examples]


def _kind(dataset: Dataset) -> str:
    if dataset.task is Task.CLASSIFICATION:
        return "labelled examples (text, label)"
    return "chat examples (OpenAI chat format)"
