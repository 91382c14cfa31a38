"""JobLeases: which process follows a training job and posts its outcome, when several could."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class JobLeases(Protocol):
    """A lease per training job: held by one ``holder`` (a process) at a time, for a while.

    - ``claim`` gives the lease to ``holder`` when it is free, expired, or already ``holder``'s
      (then its expiry moves to ``seconds`` from now): True. False while another holder's lease
      is live, and for ever once the job is finished. Two holders claiming at once: one wins.
    - ``finish`` marks the job's outcome as posted, if ``holder`` holds the lease (even expired,
      as long as nobody took it over): True, and nobody claims it again. False otherwise (it was
      taken over, or finished already): then ``holder`` must not post.
    - ``release`` gives up ``holder``'s lease without finishing: another may claim it at once.
      Releasing a lease one does not hold does nothing.

    The clock deciding expiry is the store's (a database's own clock, shared by every process).
    """

    async def claim(self, job_id: str, holder: str, seconds: float) -> bool: ...

    async def finish(self, job_id: str, holder: str) -> bool: ...

    async def release(self, job_id: str, holder: str) -> None: ...
