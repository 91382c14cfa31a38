"""Learning on this machine: the ``fewshot`` and ``local`` trainers and the chat model that answers
with what they trained.

The container builds them around one artifact store (``<workspace>/models/`` on disk, or memory)::

    artifacts = FilesystemArtifactStore(workspace / "models")
    fewshot = FewShotModelTrainer(artifacts, base_model=default_chat_model, embeddings=embeddings)
    local = LocalModelTrainer(artifacts, chat_trainer=fewshot)
    chat_model = TrainedChatModel(base_chat_model, artifacts, embeddings=embeddings)

``fewshot:…`` and ``local:…`` model ids are answered here; every other id passes to the base chat
model. scikit-learn is imported on first use, in a worker thread.
"""

from .artifacts import (
    Artifact,
    ArtifactStore,
    FilesystemArtifactStore,
    InMemoryArtifactStore,
    is_trained_id,
    parse_model_id,
)
from .classifier import LocalModelTrainer, TextClassifier
from .fewshot import FewShotIndex, FewShotModelTrainer
from .matching import question_key
from .trained_chat import TrainedChatModel

__all__ = [
    "Artifact",
    "ArtifactStore",
    "FewShotIndex",
    "FewShotModelTrainer",
    "FilesystemArtifactStore",
    "InMemoryArtifactStore",
    "LocalModelTrainer",
    "TextClassifier",
    "TrainedChatModel",
    "is_trained_id",
    "parse_model_id",
    "question_key",
]
