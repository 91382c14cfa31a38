"""Domain errors.

Every error here is safe to show a user: its message says what was wrong and, where it helps,
what to do instead, in one line, and never carries a secret, a host path or a traceback. Adapters
translate vendor exceptions into these; the driving adapters (console, Discord) show ``str(error)``.

A message that names a command is written when the error is raised, with the command prefix then
in effect (``text.command``): never a literal ``!``.
"""

from __future__ import annotations

from .text import command


class TrainerbotError(Exception):
    """Base of every failure a user may be told about. ``str(error)`` is the user-facing line.

    Raised without a message, it says ``default()``: the class's ``default_message``, or — for an
    error whose default names a command — a line written at raise time with the prefix in effect.
    """

    default_message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default())

    def default(self) -> str:
        """The line said when the raiser gives none."""
        return self.default_message

    @property
    def message(self) -> str:
        return str(self)


# --- input -----------------------------------------------------------------------------------


class InvalidInput(TrainerbotError):
    """The request itself is malformed (a missing or bad argument)."""

    default_message = "That request is not valid."


class UnknownCommand(InvalidInput):
    def default(self) -> str:
        return f"Unknown command. Type {command('help')} to see the commands."


class InvalidArgument(InvalidInput):
    def default(self) -> str:
        return f"An argument is missing or malformed. Type {command('help')} to see the usage."


class EmptyMessage(InvalidInput):
    default_message = "The message is empty: say something first."


class MessageTooLong(InvalidInput):
    default_message = "That message is too long."


class PermissionDenied(TrainerbotError):
    default_message = "Only members with the trainer role (or administrators) may do that."


# --- workspace -------------------------------------------------------------------------------


class WorkspaceError(TrainerbotError):
    default_message = "That workspace path cannot be used."


class PathOutsideWorkspace(WorkspaceError):
    default_message = "That path leads outside the workspace; give a path inside it."


class InvalidPath(WorkspaceError):
    default_message = "That path is not valid."


class WorkspaceFileNotFound(WorkspaceError):
    default_message = "There is no such file or folder in the workspace."


class NotAFile(WorkspaceError):
    default_message = "That path is a folder, not a file."


class NotAFolder(WorkspaceError):
    default_message = "That path is a file, not a folder."


class FileTooLarge(WorkspaceError):
    default_message = "That file is too large."


class EmptyFolder(WorkspaceError):
    default_message = "That folder has no files."


# --- audio -----------------------------------------------------------------------------------


class AudioError(TrainerbotError):
    default_message = "That audio cannot be used."


class EmptyAudio(AudioError):
    default_message = "That audio file is empty."


class AudioTooLarge(AudioError):
    default_message = "That audio file is too large."


class AudioTooLong(AudioError):
    default_message = "That recording is too long."


class UndecodableAudio(AudioError):
    default_message = "That attachment is not audio I can read."


class VoiceNotConnected(TrainerbotError):
    def default(self) -> str:
        return f"I am not in a voice channel: use {command('join')} first."


# --- data and models -------------------------------------------------------------------------


class DatasetError(TrainerbotError):
    default_message = "That dataset cannot be used."


class EmptyDataset(DatasetError):
    default_message = "The dataset has no examples."


class DatasetInvalid(DatasetError):
    """The dataset failed validation; ``report`` holds every problem with its line number."""

    default_message = "The dataset is not valid."

    def __init__(self, message: str | None = None, *, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class UnknownDataset(DatasetError):
    default_message = "There is no dataset with that name."


class UnknownMessage(TrainerbotError):
    default_message = "I have no answer with that message id."


class CorrectionUnchanged(InvalidInput):
    default_message = "The correction is the same as my answer: nothing to correct."


class UnknownTrainer(TrainerbotError):
    default_message = "There is no trainer with that name."


class UnknownModel(TrainerbotError):
    default_message = "There is no model with that name."


class UnknownJob(TrainerbotError):
    default_message = "There is no training job with that id."


class JobNotCancellable(TrainerbotError):
    default_message = "That job has already finished and cannot be cancelled."


# --- the outside world -----------------------------------------------------------------------


class CapabilityUnavailable(TrainerbotError):
    """A capability has no working adapter in this configuration (not installed or not configured)."""

    default_message = "That capability is not available in this configuration."


class LanguageUnavailable(CapabilityUnavailable):
    """The engine works, but not in that language."""

    default_message = "That language is not available with the configured engine."


class ServiceError(TrainerbotError):
    """A model, speech or storage service failed after its retries; the message says which."""

    default_message = "A service I depend on failed; please try again in a moment."


class RateLimited(TrainerbotError):
    """A member asked more often than the per-member rate limit allows; the message says when to
    ask again."""

    default_message = "You are sending messages faster than I can answer; wait a moment."
