"""Ports: one ``typing.Protocol`` per capability the core needs, in domain types only.

Adapters subclass the port they implement and are named ``<Tech><Port>``.
"""

from .audio_converter import AudioConverter
from .chart_renderer import ChartRenderer, LossCurveSource
from .chat_model import ChatModel
from .correction_store import CorrectionStore
from .dataset_store import DatasetStore
from .embeddings import Embeddings
from .feedback_store import FeedbackStore
from .interaction_log import InteractionLog
from .job_leases import JobLeases
from .job_store import JobStore
from .model_registry import ModelRegistry
from .model_trainer import ModelTrainer
from .settings_store import SettingsStore
from .speech_to_text import SpeechToText
from .text_to_speech import TextToSpeech
from .token_counter import TokenCounter
from .voice_output import VoiceOutput
from .workspace import Workspace

__all__ = [
    "AudioConverter",
    "ChartRenderer",
    "ChatModel",
    "CorrectionStore",
    "DatasetStore",
    "Embeddings",
    "FeedbackStore",
    "InteractionLog",
    "JobLeases",
    "JobStore",
    "LossCurveSource",
    "ModelRegistry",
    "ModelTrainer",
    "SettingsStore",
    "SpeechToText",
    "TextToSpeech",
    "TokenCounter",
    "VoiceOutput",
    "Workspace",
]
