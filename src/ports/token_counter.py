"""TokenCounter: how many tokens texts take in a model's tokenizer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenCounter(Protocol):
    """Counts tokens the way one tokenizer (an encoding such as ``cl100k_base``) splits text.

    ``name`` names the encoding, for reports. ``count_many`` gives one count per text, in order.
    ``count_batches`` does the same for a stream of batches, yielding each batch's counts in
    order; it may read the next batch (which the caller is still producing) while counting one
    elsewhere — the default counts each batch in turn. Special-token markers in a text
    (``<|endoftext|>``) are counted as the plain text they are, never refused.

    Synchronous on purpose: counting is CPU work with no I/O once the encoding is loaded. Callers
    on an event loop run the validation that uses it in a worker thread. Implementations are
    thread-safe.
    """

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...

    def count_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[list[int]]:
        for texts in batches:
            yield self.count_many(texts)
