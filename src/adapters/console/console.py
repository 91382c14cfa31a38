"""The console driving adapter.

It reads lines, runs commands through the use cases and writes plain text: no colour codes, so the
output of a piped run can be read by other programs. Each command handler only parses, builds the
request, awaits the use case and formats the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from trainerbot.core import reports as fmt
from trainerbot.core.access import OWNER
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.commands import (
    Files,
    Invocation,
    Reply,
    find,
    parse_arguments,
    split_command,
)
from trainerbot.core.entities import Actor, FileContent, TrainingJob
from trainerbot.core.errors import (
    DatasetInvalid,
    InvalidInput,
    TrainerbotError,
)
from trainerbot.core.follow_job import JobUpdate
from trainerbot.core.job_watch import JobWatch
from trainerbot.core.tenancy import Tenant, TenantScope
from trainerbot.core.text import command as named
from trainerbot.core.text import command_prefix
from trainerbot.core.use_cases import UseCases

log = logging.getLogger(__name__)

MAX_SHOWN_TEXT_BYTES = 64 * 1024
# Bytes that are not UTF-8 arrive from stdin as lone surrogates (Python's "surrogateescape"):
# no store, model or file can take them.
_UNDECODED = re.compile("[\ud800-\udfff]")
# The origin of jobs started at the console (TrainingJob.origin): the console follows them again
# when it starts.
CONSOLE_ORIGIN = "console"


class Console:
    """Runs trainerbot's command set for one person at a terminal.

    The person at the terminal owns the machine, so they act as a trainer — inside the one tenant
    whose use cases it was given (``trainerbot console --server ID``; by default the console's own
    tenant): it never reaches another tenant's data. Commands run through the command layer
    (``trainerbot.core.commands``), so they answer exactly as in Discord. Plain text is answered
    by the chat model — printed as it comes while ``run`` reads — and every answer shows its id,
    for ``!correct``.

    Files a reply made (``!test``'s ``predictions.jsonl`` and charts) are saved in a new folder
    under ``exports_dir`` (``test-<UTC time>-<id>``; by default a temporary folder, made when
    first needed) and their paths printed; the file ``!getfile`` asked for is shown.

    While ``run`` reads lines, a job started with ``!train`` that has not finished is followed in
    the background: each change, and how it ended, is written out as it happens. Jobs started at
    the console and still unfinished are followed again when ``run`` starts (after a restart).
    ``handle`` alone (one command, as ``trainerbot train ...`` runs it) follows nothing.
    """

    def __init__(
        self,
        use_cases: UseCases,
        *,
        prefix: str = "!",
        actor: Actor | None = None,
        conversation_id: str | None = None,
        exports_dir: Path | None = None,
        tenant: Tenant | None = None,
    ) -> None:
        self._scope = TenantScope(tenant or Tenant.console(), use_cases)
        self._uc = use_cases
        self._exports = exports_dir
        self._prefix = prefix
        self._actor = actor or OWNER
        self._conversation = conversation_id or f"console-{uuid.uuid4().hex[:8]}"
        # While run() reads: where job updates are written.
        self._out: TextIO | None = None
        self._jobs = JobWatch(
            _ConsoleJobs(self._write),
            scopes=lambda _: self._scope,
            tenants=lambda: (self._scope.tenant,),
        )

    async def handle(self, line: str) -> str:
        """The console's reply to one line of input ("" for a blank line)."""
        if not line.strip():
            return ""
        with command_prefix(self._prefix):
            try:
                if _UNDECODED.search(line):
                    raise InvalidInput(
                        "That line is not valid UTF-8 text: check your terminal's encoding."
                    )
                typed = split_command(line, self._prefix)
                if typed is None:
                    return await self._answer(line)
                name, raw = typed
                chosen = find(name)
                chosen.allow(self._actor)
                invocation = Invocation(
                    command=parse_arguments(chosen.spec, raw),
                    scope=self._scope,
                    actor=self._actor,
                    origin=CONSOLE_ORIGIN,
                )
                return await self._render(await chosen.run(invocation))
            except DatasetInvalid as error:
                return fmt.dataset_invalid(error)
            except TrainerbotError as error:
                return f"error: {error}"
            except Exception:
                log.exception("unexpected failure handling a console command")
                return "error: something went wrong inside trainerbot; the details are in the log."

    async def run(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
        """Read lines until end of input. Shows a prompt only when talking to a person."""
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        interactive = stdin is sys.stdin and stdin.isatty() and stdout.isatty()
        if interactive:
            with contextlib.suppress(ImportError):
                import readline  # noqa: F401 - importing it gives input() line editing

            stdout.write(f"trainerbot console — type {self._prefix}help, or Ctrl-D to leave.\n")
        self._out = stdout
        try:
            with command_prefix(self._prefix):
                await self._jobs.resume()
            while True:
                line = await self._read_line(stdin, interactive)
                if line is None:
                    break
                reply = await self.handle(line)
                if reply:
                    stdout.write(reply + "\n")
                    stdout.flush()
        finally:
            self._out = None
            await self._jobs.close()
        if interactive:
            stdout.write("\n")
        return 0

    async def handle_to_the_end(self, line: str, stdout: TextIO | None = None) -> str:
        """Answer one line (as ``handle``) and, when it started a training job that is still
        running, follow that job to its outcome, printing each change: the one-shot
        ``trainerbot train …`` must not exit while its training — which lives as long as this
        process — runs. Returns the reply to the line."""
        self._out = stdout or sys.stdout
        try:
            reply = await self.handle(line)
            if reply:
                self._write(reply)
            await self._jobs.wait()
        finally:
            self._out = None
            await self._jobs.close()
        return reply

    def _write(self, text: str) -> None:
        if self._out is not None:
            self._out.write(text + "\n")
            self._out.flush()

    @staticmethod
    async def _read_line(stdin: TextIO, interactive: bool) -> str | None:
        """The next line, or None at end of input. Reading blocks, so it runs off the event loop."""
        if interactive:
            # input() gives a person line editing and history (through readline when present).
            try:
                return await asyncio.to_thread(input, "you> ")
            except EOFError:
                return None
        line = await asyncio.to_thread(stdin.readline)
        return line.rstrip("\n") if line else None

    # --- plain messages ---------------------------------------------------------------------

    async def _answer(self, text: str) -> str:
        """The model's answer. While ``run`` reads, it is printed as it comes (the reply is then
        only the line naming the answer); otherwise it is returned whole."""
        message_id = f"m{uuid.uuid4().hex[:8]}"
        answer = await self._uc.answer_message.stream(
            AnswerRequest(
                conversation_id=self._conversation,
                author=self._actor,
                text=text,
                message_id=message_id,
            )
        )
        out = self._out
        if out is None:
            async for _ in answer:
                pass
            return f"{answer.result.reply}\n  {_answer_note(message_id)}"
        shown = False
        try:
            async for piece in answer:
                out.write(piece)
                out.flush()
                shown = True
        finally:
            if shown:
                out.write("\n")
        return f"  {_answer_note(message_id)}"

    # --- replies ----------------------------------------------------------------------------

    async def _render(self, reply: Reply) -> str:
        """A command's reply as console text: files made for it are saved under the exports
        folder (their paths printed), the file asked for is shown, a running job followed."""
        lines = [reply.text] if reply.text else []
        if reply.files and reply.file_kind is Files.MADE:
            try:
                saved = await asyncio.to_thread(self._save, reply.files)
            except OSError as error:
                log.warning("saving the files of a reply failed: %s", error)
                lines.append(f"The files could not be saved: {error.strerror or error}.")
            else:
                lines += [f"saved: {path}" for path in saved]
        elif reply.file_kind is Files.ASKED:
            lines += [fmt.file_content(file, MAX_SHOWN_TEXT_BYTES) for file in reply.files]
        if reply.job is not None and self._out is not None:
            self._jobs.follow(self._scope, reply.job, self._actor)
        return "\n".join(lines)

    def _save(self, files: Sequence[FileContent]) -> list[Path]:
        """Write ``files`` into a new folder of their own under the exports folder."""
        if self._exports is None:
            self._exports = Path(tempfile.mkdtemp(prefix="trainerbot-exports-"))
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        folder = self._exports / f"test-{stamp}-{uuid.uuid4().hex[:6]}"
        folder.mkdir(parents=True)
        paths = []
        for file in files:
            path = folder / file.filename
            path.write_bytes(file.data)
            paths.append(path.resolve())
        return paths


def _answer_note(message_id: str) -> str:
    return f"[answer {message_id} — to fix it: {named('correct', message_id)} <right answer>]"


class _ConsoleJobs:
    """Jobs at the console: each change and the outcome written out as lines."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def claims(self, origin: str | None) -> bool:
        return origin == CONSOLE_ORIGIN

    async def changed(self, origin: str | None, update: JobUpdate) -> None:
        note = f" ({update.note})" if update.note else ""
        self._write(f"[{update.job.id}] {fmt.job(update.job)}{note}")

    async def ended(self, origin: str | None, job: TrainingJob, outcome: str) -> None:
        self._write(outcome)

    async def lost(self, origin: str | None, job_id: str, error: TrainerbotError) -> None:
        self._write(f"[{job_id}] no longer followed: {error}")
