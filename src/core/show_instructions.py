"""ShowInstructions: the instruction text, from the workspace or the default shipped with trainerbot."""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainerbot.ports import Workspace

from .errors import DatasetError
from .text import current_prefix

MAX_INSTRUCTION_BYTES = 100_000
# "!" starting a command's name ("`!train`"), not ending a sentence ("Hi!").
_COMMAND_MARK = re.compile(r"(?<![\w!])!(?=[a-z_]+\b)")


@dataclass(frozen=True)
class InstructionsRequest:
    pass


@dataclass(frozen=True)
class InstructionsResult:
    text: str
    source: str


class ShowInstructions:
    """Show the instructions (Markdown).

    Rules: a file at ``instruction_path`` in the workspace (the original's ``bot_instruction.md``)
    wins, so a team can write its own; otherwise the default text shipped with trainerbot, its
    commands written with the configured prefix. A
    workspace file that is not UTF-8 text is reported, not shown garbled.
    """

    def __init__(self, *, workspace: Workspace, default_text: str, instruction_path: str) -> None:
        self._workspace = workspace
        self._default_text = default_text
        self._path = instruction_path

    async def execute(self, request: InstructionsRequest | None = None) -> InstructionsResult:
        if await self._workspace.exists(self._path):
            content = await self._workspace.read_file(self._path, max_bytes=MAX_INSTRUCTION_BYTES)
            try:
                text = content.data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise DatasetError(f"{self._path} in the workspace is not UTF-8 text.") from None
            if text.strip():
                return InstructionsResult(text=text.strip(), source=self._path)
        # The shipped text names commands as ``!name``: shown with the prefix in effect.
        text = _COMMAND_MARK.sub(lambda _: current_prefix(), self._default_text.strip())
        return InstructionsResult(text=text, source="default")
