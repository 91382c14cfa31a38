"""Learning on this machine: the ``fewshot``, ``local`` and ``lora`` trainers and the chat model
that answers with what they trained.

The container builds them around one artifact store (``<workspace>/models/`` on disk, or memory)::

    artifacts = FilesystemArtifactStore(workspace / "models")
    fewshot = FewShotModelTrainer(artifacts, base_model=default_chat_model, embeddings=embeddings)
    local = LocalModelTrainer(artifacts, chat_trainer=fewshot)
    lora = LoraModelTrainer(artifacts, work_root=…, base_weights=…, base_model=…)
    chat_model = TrainedChatModel(base_chat_model, artifacts, embeddings=embeddings,
                                  lora_model=embedded_llama)   # given lora_adapter_path

``fewshot:…``, ``local:…`` and ``lora:…`` model ids are answered here; every other id passes to
the base chat model. scikit-learn is imported on first use, in a worker thread; PyTorch only in the
lora trainer's own training process.
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
from .lora import LoraModelTrainer, LoraSettings, finetune_installed
from .lora import adapter_path as lora_adapter_path
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
    "LoraModelTrainer",
    "LoraSettings",
    "TextClassifier",
    "TrainedChatModel",
    "finetune_installed",
    "is_trained_id",
    "lora_adapter_path",
    "parse_model_id",
    "question_key",
]
