"""RateLimit: how often each member may be answered, so one member cannot crowd out the rest."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from .access import BOT, OWNER
from .entities import Actor
from .errors import RateLimited

# Buckets are swept of forgotten members once this many are held (and then at twice what is left).
_FIRST_SWEEP = 1024


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimit:
    """A token bucket per member.

    Rules:
    - Each member holds up to ``burst`` tokens, refilled at ``per_minute`` a minute. A message
      answered (or a voice message transcribed) takes one; with none left it is refused with
      ``RateLimited``, which says in how many seconds the next one will be taken. A refusal takes
      nothing, so waiting is always enough.
    - ``per_minute`` 0 turns the limit off. The machine's owner at the console and the bot itself
      are never limited; trainers are members like the others.
    - Memory stays bounded by the members active lately: a member whose bucket has filled up
      again is the same as one never seen, and is forgotten at the next sweep.
    - Not thread-safe: called from the event loop only (no await inside).
    """

    def __init__(
        self,
        *,
        per_minute: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 0 or burst < 1:
            raise ValueError("per_minute must be 0 or more and burst at least 1")
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._sweep_at = _FIRST_SWEEP

    @property
    def tracked(self) -> int:
        """How many members' buckets are held (for tests and benchmarks of memory)."""
        return len(self._buckets)

    def take(self, actor: Actor) -> None:
        """Take one token for ``actor`` or raise ``RateLimited``."""
        if not self._rate or actor.id in (OWNER.id, BOT.id):
            return
        now = self._clock()
        bucket = self._buckets.get(actor.id)
        if bucket is None:
            # Swept before the new bucket is held: a new bucket is full, so a sweep after would
            # forget it at once, and the token about to be taken with it.
            if len(self._buckets) + 1 >= self._sweep_at:
                self._sweep(now)
            bucket = self._buckets[actor.id] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            wait = math.ceil((1.0 - bucket.tokens) / self._rate)
            raise RateLimited(
                f"You are sending messages faster than I can answer (at most {self._burst:.0f} "
                f"at once and {self._per_minute:g} a minute); try again in {wait} s."
            )
        bucket.tokens -= 1.0

    def _sweep(self, now: float) -> None:
        full = [
            member
            for member, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * self._rate >= self._burst
        ]
        for member in full:
            del self._buckets[member]
        self._sweep_at = max(_FIRST_SWEEP, 2 * len(self._buckets))
