"""trainerbot: teach a language model from a chat — a Discord bot and an embeddable library.

    from trainerbot import create_container, Settings
    container = create_container(Settings(storage="memory"))  # or a workspace on disk
    answer = await container.answer_message().execute(AnswerRequest(...))
    await close_container(container)  # when done (on disk: the records' database)

The use cases live in ``trainerbot.core``; the ports in ``trainerbot.ports``; in-memory adapters
for tests and embedding in ``trainerbot.adapters.memory``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainerbot.core.answer_message import AnswerMessage, AnswerRequest, AnswerResult, AnswerStream
from trainerbot.core.answer_voice import AnswerVoiceMessage, VoiceMessageRequest
from trainerbot.core.archive_files import ArchiveFiles, ArchiveRequest
from trainerbot.core.cancel_job import CancelJob, CancelJobRequest
from trainerbot.core.commands import Reply, run_command
from trainerbot.core.entities import Actor, AudioClip
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.follow_job import FollowJob, FollowJobRequest, JobUpdate
from trainerbot.core.get_file import GetFile, GetFileRequest
from trainerbot.core.link_reply import LinkReply, LinkReplyRequest
from trainerbot.core.list_jobs import ListJobs, ListJobsRequest
from trainerbot.core.list_models import ListModels, ListModelsRequest
from trainerbot.core.record_correction import CorrectionRequest, RecordCorrection
from trainerbot.core.record_feedback import FeedbackRequest, RecordFeedback
from trainerbot.core.refresh_job import RefreshJob, RefreshJobRequest
from trainerbot.core.select_dataset import SelectDataset, SelectDatasetRequest
from trainerbot.core.show_instructions import ShowInstructions
from trainerbot.core.speak_reply import SpeakReply, SpeakRequest
from trainerbot.core.tenancy import Tenant, TenantScope
from trainerbot.core.test_model import TestModel, TestRequest
from trainerbot.core.train_model import TrainModel, TrainRequest
from trainerbot.core.transcribe_voice import TranscribeRequest, TranscribeVoice
from trainerbot.core.use_cases import UseCases
from trainerbot.core.use_model import UseModel, UseModelRequest

__version__ = "0.1.0"

if TYPE_CHECKING:
    from trainerbot.adapters.discord.bot import TrainerBot
    from trainerbot.config import Settings
    from trainerbot.container import Container


def create_container(settings: Settings | None = None) -> Container:
    """A container wired from ``settings`` (or the environment and ``.env``)."""
    # Imported here so that `import trainerbot` stays light and builds nothing.
    from trainerbot.container import create_container as create

    return create(settings)


async def close_container(container: Container) -> None:
    """Release what ``container`` opened that outlives a request: the records' database
    connections. Await it when done with a container over a workspace on disk (the records are
    in its SQLite file by default): until then their threads keep the program from exiting."""
    from trainerbot.container import close_container as close

    await close(container)


def create_bot(container: Container | None = None) -> TrainerBot:
    """The Discord bot built from ``container`` (or one from the environment): run it with
    ``bot.run(token)``, or drive it with dpytest (see ``trainerbot.container.create_bot``)."""
    from trainerbot.container import create_bot as create

    return create(container)


def __getattr__(name: str) -> Any:
    if name == "Settings":
        from trainerbot.config import Settings

        return Settings
    raise AttributeError(name)


__all__ = [
    "Actor",
    "AnswerMessage",
    "AnswerRequest",
    "AnswerResult",
    "AnswerStream",
    "AnswerVoiceMessage",
    "ArchiveFiles",
    "ArchiveRequest",
    "AudioClip",
    "CancelJob",
    "CancelJobRequest",
    "CorrectionRequest",
    "FeedbackRequest",
    "FollowJob",
    "FollowJobRequest",
    "GetFile",
    "GetFileRequest",
    "JobUpdate",
    "LinkReply",
    "LinkReplyRequest",
    "ListJobs",
    "ListJobsRequest",
    "ListModels",
    "ListModelsRequest",
    "RecordCorrection",
    "RecordFeedback",
    "RefreshJob",
    "RefreshJobRequest",
    "Reply",
    "SelectDataset",
    "SelectDatasetRequest",
    "Settings",
    "ShowInstructions",
    "SpeakReply",
    "SpeakRequest",
    "Tenant",
    "TenantScope",
    "TestModel",
    "TestRequest",
    "TrainModel",
    "TrainRequest",
    "TrainerbotError",
    "TranscribeRequest",
    "TranscribeVoice",
    "UseCases",
    "UseModel",
    "UseModelRequest",
    "VoiceMessageRequest",
    "__version__",
    "close_container",
    "create_bot",
    "create_container",
    "run_command",
]
