"""OpenAI adapters over the official ``openai`` SDK's ``AsyncOpenAI``: chat, fine-tuning, speech,
embeddings — for OpenAI itself or any OpenAI-compatible server (``TRAINERBOT_OPENAI_BASE_URL``)."""

from .chat import OpenAIChatModel
from .client import make_client, service_name
from .embeddings import OpenAIEmbeddings
from .models import ModelCheck, check_models
from .speech import OpenAISpeechToText, OpenAITextToSpeech
from .trainer import OpenAIModelTrainer

__all__ = [
    "ModelCheck",
    "OpenAIChatModel",
    "OpenAIEmbeddings",
    "OpenAIModelTrainer",
    "OpenAISpeechToText",
    "OpenAITextToSpeech",
    "check_models",
    "make_client",
    "service_name",
]
