"""In-memory adapters for every port: for tests, demos and integrators.

Each one records what it was given (``calls``, ``queued``, stored lists) so a test can assert on
the state it leaves, not on whether a mock was called. None of them pretends to be a real model:
``InMemoryChatModel`` answers with what it was scripted to say.
"""

from .audio import (
    InMemoryAudioConverter,
    InMemorySpeechToText,
    InMemoryTextToSpeech,
    InMemoryVoiceOutput,
)
from .chat import InMemoryChatModel
from .leases import InMemoryJobLeases
from .records import (
    InMemoryCorrectionStore,
    InMemoryDatasetStore,
    InMemoryFeedbackStore,
    InMemoryInteractionLog,
    InMemoryJobStore,
    InMemoryModelRegistry,
    InMemorySettingsStore,
)
from .trainer import InMemoryModelTrainer
from .workspace import InMemoryWorkspace

__all__ = [
    "InMemoryAudioConverter",
    "InMemoryChatModel",
    "InMemoryCorrectionStore",
    "InMemoryDatasetStore",
    "InMemoryFeedbackStore",
    "InMemoryInteractionLog",
    "InMemoryJobLeases",
    "InMemoryJobStore",
    "InMemoryModelRegistry",
    "InMemoryModelTrainer",
    "InMemorySettingsStore",
    "InMemorySpeechToText",
    "InMemoryTextToSpeech",
    "InMemoryVoiceOutput",
    "InMemoryWorkspace",
]
