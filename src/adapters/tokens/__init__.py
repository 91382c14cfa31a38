"""Token counting: ``TiktokenTokenCounter``, OpenAI's tokenizer with its encoding bundled."""

from .tiktoken_counter import TiktokenTokenCounter

__all__ = ["TiktokenTokenCounter"]
