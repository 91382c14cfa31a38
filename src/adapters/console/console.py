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
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from trainerbot.core import reports as fmt
from trainerbot.core.access import OWNER
from trainerbot.core.answer_message import AnswerRequest
from trainerbot.core.archive_files import ArchiveRequest
from trainerbot.core.cancel_job import CancelJobRequest
from trainerbot.core.commands import COMMANDS, ParsedCommand, greeting, parse_command, split_command
from trainerbot.core.entities import Actor, FileContent, TrainingJob
from trainerbot.core.errors import DatasetInvalid, InvalidInput, TrainerbotError
from trainerbot.core.export_data import ExportRequest
from trainerbot.core.fix_failure import FixFailureRequest
from trainerbot.core.follow_job import FollowJobRequest
from trainerbot.core.get_file import GetFileRequest
from trainerbot.core.list_jobs import ListJobsRequest
from trainerbot.core.list_models import ListModelsRequest
from trainerbot.core.manage_settings import SettingsRequest
from trainerbot.core.record_correction import CorrectionRequest
from trainerbot.core.record_feedback import FeedbackRequest
from trainerbot.core.refresh_job import RefreshJobRequest
from trainerbot.core.select_dataset import SelectDatasetRequest
from trainerbot.core.test_model import TestRequest
from trainerbot.core.train_model import TrainRequest
from trainerbot.core.transcribe_voice import TranscribeRequest
from trainerbot.core.use_cases import UseCases
from trainerbot.core.use_model import UseModelRequest

log = logging.getLogger(__name__)

Handler = Callable[[ParsedCommand], Awaitable[str]]
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
    tenant): it never reaches another tenant's data. Plain text is answered
    by the chat model; every answer shows its id, for ``!correct``.

    ``!test`` saves ``predictions.jsonl`` and its charts in a new folder under ``exports_dir``
    (``test-<UTC time>-<id>``; by default a temporary folder, made when first needed) and prints
    their paths.

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
    ) -> None:
        self._uc = use_cases
        self._fix = use_cases.fix_failure
        self._exports = exports_dir
        self._prefix = prefix
        self._actor = actor or OWNER
        self._conversation = conversation_id or f"console-{uuid.uuid4().hex[:8]}"
        # While run() reads: where job updates are written, and the tasks following jobs.
        self._out: TextIO | None = None
        self._following: dict[str, asyncio.Task[None]] = {}
        self._handlers: dict[str, Handler] = {
            "hi": self._hi,
            "help": self._help,
            "instruction": self._instruction,
            "join": self._voice,
            "leave": self._voice,
            "train": self._train,
            "test": self._test,
            "fix": self._fix_failure,
            "correct": self._correct,
            "feedback": self._feedback,
            "archive": self._archive,
            "export": self._export_data,
            "select_dataset": self._select_dataset,
            "getfile": self._getfile,
            "transcribe": self._transcribe,
            "jobs": self._jobs,
            "cancel": self._cancel,
            "models": self._models,
            "use": self._use,
            "persona": self._persona,
            "settings": self._settings,
        }
        missing = set(COMMANDS) - set(self._handlers)
        assert not missing, f"console lacks handlers for {missing}"

    async def handle(self, line: str) -> str:
        """The console's reply to one line of input ("" for a blank line)."""
        if not line.strip():
            return ""
        try:
            if _UNDECODED.search(line):
                raise InvalidInput(
                    "That line is not valid UTF-8 text: check your terminal's encoding."
                )
            command = split_command(line, self._prefix)
            if command is None:
                return await self._answer(line)
            name, raw = command
            parsed = parse_command(name, raw, self._prefix)
            return await self._handlers[parsed.spec.name](parsed)
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
            await self._resume_jobs()
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
            await self._stop_following()
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
            await asyncio.gather(*list(self._following.values()), return_exceptions=True)
        finally:
            self._out = None
            await self._stop_following()
        return reply

    # --- following jobs while run() reads --------------------------------------------------

    async def _resume_jobs(self) -> None:
        try:
            result = await self._uc.list_jobs.execute(
                ListJobsRequest(actor=self._actor, limit=100, unfinished=True)
            )
        except TrainerbotError as error:
            log.warning("could not list the unfinished jobs to follow: %s", error)
            return
        for job in result.jobs:
            if job.origin == CONSOLE_ORIGIN:
                self._follow(job)

    def _follow(self, job: TrainingJob) -> None:
        if self._out is None or job.status.is_final or job.id in self._following:
            return
        task = asyncio.create_task(self._follow_job(job.id), name=f"trainerbot-job-{job.id}")
        self._following[job.id] = task
        task.add_done_callback(lambda _: self._following.pop(job.id, None))

    async def _follow_job(self, job_id: str) -> None:
        try:
            updates = self._uc.follow_job.execute(
                FollowJobRequest(actor=self._actor, job_id=job_id)
            )
            async for update in updates:
                note = f" ({update.note})" if update.note else ""
                self._write(f"[{job_id}] {fmt.job(update.job)}{note}")
                if update.job.status.is_final:
                    self._write(fmt.job_outcome(update.job, prefix=self._prefix))
        except TrainerbotError as error:
            self._write(f"[{job_id}] no longer followed: {error}")
        except Exception:
            log.exception("following job %s failed", job_id)

    def _write(self, text: str) -> None:
        if self._out is not None:
            self._out.write(text + "\n")
            self._out.flush()

    async def _stop_following(self) -> None:
        tasks = list(self._following.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
        message_id = f"m{uuid.uuid4().hex[:8]}"
        result = await self._uc.answer_message.execute(
            AnswerRequest(
                conversation_id=self._conversation,
                author=self._actor,
                text=text,
                message_id=message_id,
            )
        )
        return f"{result.reply}\n  [answer {message_id} — to fix it: {self._prefix}correct {message_id} <right answer>]"

    # --- commands ---------------------------------------------------------------------------

    async def _hi(self, command: ParsedCommand) -> str:
        return greeting(self._actor.name)

    async def _help(self, command: ParsedCommand) -> str:
        return fmt.help_text(self._prefix, command.text("command"))

    async def _instruction(self, command: ParsedCommand) -> str:
        return (await self._uc.show_instructions.execute()).text

    async def _voice(self, command: ParsedCommand) -> str:
        return "Voice channels exist only in Discord; run the bot with a Discord token to use them."

    async def _train(self, command: ParsedCommand) -> str:
        result = await self._uc.train_model.execute(
            TrainRequest(
                actor=self._actor,
                data=command.text("data"),
                data_dir=command.text("data_dir"),
                positive=command.flag("positive"),
                method=command.text("method"),
                include_corrections=bool(command.flag("corrections")),
                holdout=bool(command.flag("holdout")),
                name=command.text("name"),
                origin=CONSOLE_ORIGIN,
            )
        )
        self._follow(result.job)
        return fmt.train_result(result)

    async def _test(self, command: ParsedCommand) -> str:
        result = await self._uc.test_model.execute(
            TestRequest(
                actor=self._actor,
                data=command.text("data"),
                data_dir=command.text("data_dir"),
                dataset=command.text("dataset"),
                model=command.text("model"),
                baseline=command.text("baseline"),
            )
        )
        lines = [fmt.test_result(result, prefix=self._prefix)]
        try:
            saved = await asyncio.to_thread(self._save, result.files)
        except OSError as error:
            log.warning("saving the test files failed: %s", error)
            lines.append(f"The files could not be saved: {error.strerror or error}.")
        else:
            lines += [f"saved: {path}" for path in saved]
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

    async def _fix_failure(self, command: ParsedCommand) -> str:
        result = await self._fix.execute(
            FixFailureRequest(
                actor=self._actor, number=command.text("number") or "", text=command.text("text")
            )
        )
        return fmt.fix_result(result, prefix=self._prefix)

    async def _correct(self, command: ParsedCommand) -> str:
        result = await self._uc.record_correction.execute(
            CorrectionRequest(
                actor=self._actor,
                message_id=command.text("message_id") or "",
                text=command.text("text") or "",
            )
        )
        return f"Thanks — correction {result.correction.id} recorded; it will be used in training."

    async def _feedback(self, command: ParsedCommand) -> str:
        result = await self._uc.record_feedback.execute(
            FeedbackRequest(actor=self._actor, text=command.text("text") or "")
        )
        return f"Thanks — feedback {result.feedback.id} recorded."

    async def _archive(self, command: ParsedCommand) -> str:
        result = await self._uc.archive_files.execute(
            ArchiveRequest(actor=self._actor, folder=command.text("folder") or "")
        )
        return fmt.archive(result.archive)

    async def _export_data(self, command: ParsedCommand) -> str:
        result = await self._uc.export_data.execute(
            ExportRequest(actor=self._actor, dataset=command.text("dataset"))
        )
        return fmt.export(result)

    async def _select_dataset(self, command: ParsedCommand) -> str:
        result = await self._uc.select_dataset.execute(
            SelectDatasetRequest(
                actor=self._actor,
                folder=command.text("folder") or "",
                positive=command.flag("positive"),
            )
        )
        return (
            f"Selected dataset {result.dataset.name}: {result.report.summary()}\n"
            f"{fmt.archive(result.archive)}\n"
            f"{self._prefix}train with no data now trains on it."
        )

    async def _getfile(self, command: ParsedCommand) -> str:
        result = await self._uc.get_file.execute(
            GetFileRequest(actor=self._actor, path=command.text("path") or "")
        )
        return fmt.file_content(result.file, MAX_SHOWN_TEXT_BYTES)

    async def _transcribe(self, command: ParsedCommand) -> str:
        result = await self._uc.transcribe_voice.execute(
            TranscribeRequest(path=command.text("path"), actor=self._actor)
        )
        if not result.heard_anything:
            return f"I heard nothing I could recognise in {result.duration_seconds:.1f} s of audio."
        return f"Heard ({result.duration_seconds:.1f} s): {result.transcript.text}"

    async def _jobs(self, command: ParsedCommand) -> str:
        job_id = command.text("job_id")
        if job_id:
            refreshed = await self._uc.refresh_job.execute(
                RefreshJobRequest(actor=self._actor, job_id=job_id)
            )
            text = fmt.job(refreshed.job)
            return f"{text}\n  note: {refreshed.note}" if refreshed.note else text
        listed = await self._uc.list_jobs.execute(ListJobsRequest(actor=self._actor))
        if not listed.jobs:
            return f"No training jobs yet. Start one with {self._prefix}train."
        return "\n".join(fmt.job(j) for j in listed.jobs)

    async def _cancel(self, command: ParsedCommand) -> str:
        result = await self._uc.cancel_job.execute(
            CancelJobRequest(actor=self._actor, job_id=command.text("job_id") or "")
        )
        return fmt.job(result.job)

    async def _models(self, command: ParsedCommand) -> str:
        result = await self._uc.list_models.execute(ListModelsRequest(actor=self._actor))
        return fmt.models(result)

    async def _use(self, command: ParsedCommand) -> str:
        result = await self._uc.use_model.execute(
            UseModelRequest(actor=self._actor, model=command.text("model") or "")
        )
        return f"Now answering with {result.model} (was {result.previous})."

    async def _persona(self, command: ParsedCommand) -> str:
        result = await self._uc.manage_settings.execute(
            SettingsRequest(actor=self._actor, persona=command.text("text") or None)
        )
        return fmt.settings(result, prefix=self._prefix)

    async def _settings(self, command: ParsedCommand) -> str:
        result = await self._uc.manage_settings.execute(
            SettingsRequest(actor=self._actor, trainer_role=command.text("trainer_role") or None)
        )
        return fmt.settings(result, prefix=self._prefix)
