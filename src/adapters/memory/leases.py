"""Job leases in memory: for one process (memory and JSON Lines records, whose workspace one
process owns), where they only keep a job from being followed twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from trainerbot.ports import JobLeases


@dataclass(frozen=True)
class Lease:
    holder: str
    expires_at: float
    finished: bool = False


class InMemoryJobLeases(JobLeases):
    """The leases by job id in ``leases``; ``clock`` (monotonic seconds) decides expiry."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.leases: dict[str, Lease] = {}

    async def claim(self, job_id: str, holder: str, seconds: float) -> bool:
        now = self._clock()
        lease = self.leases.get(job_id)
        if lease is not None and (
            lease.finished or (lease.holder != holder and lease.expires_at >= now)
        ):
            return False
        self.leases[job_id] = Lease(holder, now + seconds)
        return True

    async def finish(self, job_id: str, holder: str) -> bool:
        lease = self.leases.get(job_id)
        if lease is None or lease.finished or lease.holder != holder:
            return False
        self.leases[job_id] = Lease(holder, self._clock(), finished=True)
        return True

    async def release(self, job_id: str, holder: str) -> None:
        lease = self.leases.get(job_id)
        if lease is not None and not lease.finished and lease.holder == holder:
            del self.leases[job_id]
