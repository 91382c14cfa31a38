"""How the bot behaves in a server: the options every cog reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trainerbot.core.job_watch import DEFAULT_LEASE_SECONDS
from trainerbot.core.limits import MIB


@dataclass(frozen=True)
class BotOptions:
    """How the bot behaves in a server (the ``TRAINERBOT_`` settings of the same names).

    - ``prefix``: the text command prefix; every command is also a slash command.
    - ``channels``: channel ids where every message is answered; elsewhere only mentions. Empty:
      every channel, as the original bot did. Direct messages are answered if ``answer_dms``.
    - ``max_upload_bytes`` / ``max_audio_bytes``: attachments over these are refused unread.
    - ``language``: for speech recognition and synthesis (the engines' default if None).
    - ``guilds``: the servers the bot serves (it leaves others). Empty: any.
    - ``commands_state``: the file keeping the fingerprint of the slash commands last synced to
      Discord; once logged in, the bot syncs its global slash commands only when they differ
      from it (``sync.sync_if_changed``). None (the default, and for dpytest): never synced
      by the bot — ``trainerbot run`` sets it to ``<workspace>/.discord-commands.sha256``.
    - ``job_scan_seconds``: where several bot processes share the records (a database), each
      looks for training jobs no process follows (one whose process died) this often, and takes
      them over (``JobWatch.keep_watching``). None (JSON Lines: one process owns the workspace):
      never; the unfinished jobs are followed again once, at start.
    - ``job_lease_seconds``: how long a process's claim on a job it follows lasts unless renewed
      (it renews every third of it): how long a dead process's job waits to be taken over.
    - ``shard_count`` / ``shard_ids``: set, the bot is discord.py's sharded client
      (``AutoShardedBot``) running these of ``shard_count`` shards (empty: all of them), so that
      several processes split the servers between them; each shard id is below
      ``shard_count``. None (the default): one unsharded connection.

    The trainer role is each server's own (``!settings``; ``TRAINERBOT_TRAINER_ROLE`` is the
    default), decided in the core with the operators' ids.
    """

    prefix: str = "!"
    channels: frozenset[int] = field(default_factory=frozenset)
    answer_dms: bool = True
    max_upload_bytes: int = 8 * MIB
    max_audio_bytes: int = 25 * MIB
    language: str | None = None
    guilds: frozenset[int] = field(default_factory=frozenset)
    commands_state: Path | None = None
    job_scan_seconds: float | None = None
    job_lease_seconds: float = DEFAULT_LEASE_SECONDS
    shard_count: int | None = None
    shard_ids: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.shard_count is None:
            if self.shard_ids:
                raise ValueError("shard_ids need a shard_count")
        elif self.shard_count < 1 or any(not 0 <= i < self.shard_count for i in self.shard_ids):
            raise ValueError("each shard id is below shard_count, which is at least 1")
