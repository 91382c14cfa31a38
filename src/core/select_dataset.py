"""SelectDataset: pick a workspace folder as the dataset for training, label it, archive it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from trainerbot.ports import DatasetStore, TokenCounter, Workspace

from .access import require_trainer
from .dataset_sources import dataset_name, read_folder
from .datasets import ParseResult, ValidationReport, build_dataset, parse_files, validate
from .entities import Actor, Archive, Dataset
from .errors import DatasetInvalid, EmptyDataset
from .limits import DEFAULT_LIMITS, Limits
from .paths import parse_user_path
from .tokens import TokenCheck


@dataclass(frozen=True)
class SelectDatasetRequest:
    actor: Actor
    folder: str
    positive: bool | None = None


@dataclass(frozen=True)
class SelectDatasetResult:
    dataset: Dataset
    report: ValidationReport
    archive: Archive


class SelectDataset:
    """Select a dataset folder.

    Rules:
    - Trainers only; the folder must be inside the workspace and hold supported files.
    - ``positive`` labels plain documents ``positive`` (true) or ``negative`` (false), as the original
      did; chat examples become wanted or unwanted answers.
    - The folder is parsed and checked as ``!train`` would check it: any bad line, or a dataset
      training would refuse (a classification set with one label, say), refuses the selection
      with the validation report, and nothing is changed. With ``tokens`` the report has token
      statistics (the limit and cost depend on the trainer: ``!train`` checks them).
    - Parsing and checking run in a worker thread.
    - The folder is archived (a snapshot of what was selected), the dataset saved under the folder's
      name with its content version, and made the one ``!train`` uses when given no data.
    """

    def __init__(
        self,
        *,
        workspace: Workspace,
        datasets: DatasetStore,
        limits: Limits = DEFAULT_LIMITS,
        tokens: TokenCounter | None = None,
    ) -> None:
        self._tokens = tokens
        self._workspace = workspace
        self._datasets = datasets
        self._limits = limits

    async def execute(self, request: SelectDatasetRequest) -> SelectDatasetResult:
        require_trainer(request.actor)
        folder = parse_user_path(request.folder)
        files = await read_folder(self._workspace, folder, self._limits)
        check = TokenCheck(self._tokens) if self._tokens is not None else None
        parsed, dataset, report = await asyncio.to_thread(
            _checked, files, folder, request.positive, check
        )
        if not dataset.examples and not parsed.problems:
            raise EmptyDataset(f"The folder {folder} holds no examples.")
        if not report.is_valid:
            raise DatasetInvalid(report.summary(), report=report)
        archive = await self._workspace.archive(folder)
        await self._datasets.save(dataset)
        await self._datasets.select(dataset.name)
        return SelectDatasetResult(dataset=dataset, report=report, archive=archive)


def _checked(
    files: Sequence[tuple[str, bytes]],
    folder: str,
    positive: bool | None,
    tokens: TokenCheck | None,
) -> tuple[ParseResult, Dataset, ValidationReport]:
    parsed = parse_files(files, positive=positive)
    dataset, duplicates = build_dataset(dataset_name(folder), parsed, source=folder)
    report = validate(dataset, parsed, duplicates=duplicates, min_examples=1, tokens=tokens)
    return parsed, dataset, report
