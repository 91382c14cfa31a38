"""The tenant's workspace: archiving and selecting folders, exporting data, fetching files and
transcribing audio. Every path stays inside the workspace (the use cases refuse any other)."""

from __future__ import annotations

from .. import reports
from ..archive_files import ArchiveRequest
from ..export_data import ExportRequest
from ..get_file import GetFileRequest
from ..select_dataset import SelectDatasetRequest
from ..text import command as named
from ..transcribe_voice import TranscribeRequest
from .base import Files, Invocation, Reply, command
from .grammar import CommandSpec, Kind, Param


@command(
    CommandSpec(
        "archive",
        "Zip a workspace folder into archives/ with a manifest.",
        (Param("folder", "a folder in the workspace", required=True),),
        trainer_only=True,
    )
)
async def archive(call: Invocation) -> Reply:
    result = await call.use_cases.archive_files.execute(
        ArchiveRequest(actor=call.actor, folder=call.text("folder") or "")
    )
    return Reply(reports.archive(result.archive))


@command(
    CommandSpec(
        "select_dataset",
        "Use a workspace folder as the dataset to train on, labelled, and archive it.",
        (
            Param("folder", "a folder in the workspace", required=True),
            Param("positive", "label its documents positive (true) or negative (false)", Kind.BOOL),
        ),
        trainer_only=True,
    )
)
async def select_dataset(call: Invocation) -> Reply:
    result = await call.use_cases.select_dataset.execute(
        SelectDatasetRequest(
            actor=call.actor, folder=call.text("folder") or "", positive=call.flag("positive")
        )
    )
    return Reply(
        f"Selected dataset {result.dataset.name}: {result.report.summary()}\n"
        f"{reports.archive(result.archive)}\n"
        f"{named('train')} with no data now trains on it."
    )


@command(
    CommandSpec(
        "export",
        "Export a dataset, or the corrections and 👎 answers, as JSON Lines.",
        (Param("dataset", "a saved dataset's name (default: corrections and feedback)"),),
        trainer_only=True,
    )
)
async def export(call: Invocation) -> Reply:
    result = await call.use_cases.export_data.execute(
        ExportRequest(actor=call.actor, dataset=call.text("dataset"))
    )
    return Reply(
        reports.export(result),
        files=tuple(exported.file for exported in result.files),
        file_kind=Files.STORED,
    )


@command(
    CommandSpec(
        "getfile",
        "Send a file from the workspace.",
        (Param("path", "a file in the workspace", required=True),),
        trainer_only=True,
    )
)
async def getfile(call: Invocation) -> Reply:
    result = await call.use_cases.get_file.execute(
        GetFileRequest(actor=call.actor, path=call.text("path") or "")
    )
    return Reply(f"📄 {result.file.path}", files=(result.file,), file_kind=Files.ASKED)


@command(
    CommandSpec(
        "transcribe",
        "Transcribe an audio file from the workspace.",
        (Param("path", "an audio file in the workspace", required=True),),
        trainer_only=True,
    )
)
async def transcribe(call: Invocation) -> Reply:
    result = await call.use_cases.transcribe_voice.execute(
        TranscribeRequest(path=call.text("path"), actor=call.actor)
    )
    if not result.heard_anything:
        return Reply(result.heard_nothing())
    return Reply(f"Heard ({result.duration_seconds:.1f} s): {result.transcript.text}")
