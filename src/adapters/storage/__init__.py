"""Storage on the local filesystem: the workspace, the JSON Lines records and saved datasets.

Everything lives inside one workspace folder. The container builds the pieces from its root::

    FilesystemWorkspace(root)
    FilesystemDatasetStore(root)
    JsonlInteractionLog(root / "records" / "interactions.jsonl")
    JsonlCorrectionStore(root / "records" / "corrections.jsonl")
    JsonlFeedbackStore(root / "records" / "feedback.jsonl")
    JsonlJobStore(root / "records" / "jobs.jsonl")
    JsonlModelRegistry(root / "records" / "models.jsonl")
    JsonlSettingsStore(root / "records" / "settings.jsonl")
"""

from .dataset_store import FilesystemDatasetStore
from .interaction_log import JsonlInteractionLog
from .jsonl import JsonlFile, ReadResult
from .record_stores import (
    JsonlCorrectionStore,
    JsonlFeedbackStore,
    JsonlJobStore,
    JsonlModelRegistry,
    JsonlSettingsStore,
)
from .workspace import FilesystemWorkspace

__all__ = [
    "FilesystemDatasetStore",
    "FilesystemWorkspace",
    "JsonlCorrectionStore",
    "JsonlFeedbackStore",
    "JsonlFile",
    "JsonlInteractionLog",
    "JsonlJobStore",
    "JsonlModelRegistry",
    "JsonlSettingsStore",
    "ReadResult",
]
