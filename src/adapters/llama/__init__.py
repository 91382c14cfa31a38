"""The embedded chat model: a GGUF model run in-process by llama.cpp (llama-cpp-python)."""

from .chat import LlamaCppChatModel, default_weights

__all__ = ["LlamaCppChatModel", "default_weights"]
