"""LeaseJob: which process follows a training job and posts its outcome (``JobWatch``'s rule)."""

from __future__ import annotations

from trainerbot.ports import JobLeases


class LeaseJob:
    """A tenant's job leases, for ``JobWatch``: one holder (a process) at a time follows a job.

    Rules (the port's): ``claim`` takes or renews the lease for ``seconds`` (False while another
    holder's lease is live, or once the job is finished); ``finish`` records that the outcome is
    to be posted by ``holder`` — True only for the holder that still held the lease, and only
    once; ``release`` lets another holder claim the job at once. No actor: it is the bot's own
    bookkeeping, never a member's command.
    """

    def __init__(self, *, leases: JobLeases) -> None:
        self._leases = leases

    async def claim(self, job_id: str, holder: str, seconds: float) -> bool:
        if seconds <= 0:
            raise ValueError("a lease lasts a positive number of seconds")
        return await self._leases.claim(job_id, holder, seconds)

    async def finish(self, job_id: str, holder: str) -> bool:
        return await self._leases.finish(job_id, holder)

    async def release(self, job_id: str, holder: str) -> None:
        await self._leases.release(job_id, holder)
