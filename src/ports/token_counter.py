"""TokenCounter: how many tokens texts take in a model's tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way one tokenizer (an encoding such as ``cl100k_base``) splits text.

    ``name`` names the encoding, for reports ("tokens counted with cl100k_base"). ``count_many``
    gives one count per text, in order; it is what validation calls, with thousands of texts at a
    time, so an implementation can spread them over threads. Special-token markers in a text
    (``<|endoftext|>``) are counted as the plain text they are, never refused.

    Synchronous on purpose: counting is CPU work with no I/O once the encoding is loaded. Callers
    on an event loop run the validation that uses it in a worker thread. Implementations are
    thread-safe.
    """

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...
