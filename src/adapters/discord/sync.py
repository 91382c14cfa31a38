"""Slash commands reach Discord only when they change: the tree's fingerprint is kept on disk.

discord.py's maintainers advise against syncing the command tree on every start (the endpoint
is rate limited and a sync is needed only when the commands changed). ``sync_if_changed`` is
called once the commands are added (``TrainerBot.setup_hook``, after logging in).

Rules:
- The fingerprint is the SHA-256 of the application id and the global commands' payload
  (``command.to_dict(tree)`` for each command of ``tree.get_commands()``, as ``tree.sync``
  sends it), in canonical JSON: a new command, a renamed option, a changed description or
  another application all change it; the order of definition does not.
- ``tree.sync()`` (global commands) runs only when the fingerprint differs from the one stored
  in ``state`` (a missing or unreadable file counts as different); the new fingerprint is
  written only after Discord accepted the sync, so a failed sync is tried again at next start.
- Success is one info line, "synced N slash commands"; an unchanged tree is one debug line.
- A failure (Discord refused it, e.g. 403 without the ``applications.commands`` scope, or 5xx,
  no application id, the network) is one warning line and nothing is raised: the bot keeps
  running, and its prefix commands work.
- Writing the state file is atomic (a temporary file renamed); if it cannot be written, one
  warning line, and the next start syncs again (harmless).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import aiohttp
import discord
from discord import app_commands

log = logging.getLogger(__name__)

STATE_FILENAME = ".discord-commands.sha256"


def fingerprint(tree: app_commands.CommandTree[Any]) -> str:
    """The SHA-256 (hex) of what ``tree.sync()`` would send for the global commands, with the
    application id."""
    payload = sorted(
        (command.to_dict(tree) for command in tree.get_commands()),
        key=lambda item: (item.get("type", 1), item["name"]),
    )
    document = {"application_id": tree.client.application_id, "commands": payload}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stored_fingerprint(state: Path) -> str | None:
    """The fingerprint of the last successful sync, or None (never synced, or unreadable)."""
    try:
        return state.read_text(encoding="ascii").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


async def sync_if_changed(tree: app_commands.CommandTree[Any], state: Path) -> int | None:
    """Sync the global slash commands if they changed since the last sync recorded in
    ``state``: the number of commands synced, or None when nothing was synced (unchanged, or
    the sync failed — logged as one warning line)."""
    current = fingerprint(tree)
    if stored_fingerprint(state) == current:
        log.debug("slash commands unchanged since the last sync: not synced")
        return None
    try:
        synced = await tree.sync()
    except (
        discord.HTTPException,
        app_commands.AppCommandError,
        aiohttp.ClientError,
        OSError,
        TimeoutError,
    ) as error:
        log.warning(
            "could not sync the slash commands (%s): prefix commands still work; "
            "the sync is tried again at next start",
            _one_line(error),
        )
        return None
    log.info("synced %d slash commands", len(synced))
    _store(state, current)
    return len(synced)


def _store(state: Path, value: str) -> None:
    temporary = state.with_name(state.name + ".tmp")
    try:
        state.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(value + "\n", encoding="ascii")
        os.replace(temporary, state)
    except OSError as error:
        log.warning(
            "could not record the slash commands' sync in %s (%s): they will be synced again "
            "at next start",
            state,
            error.strerror or type(error).__name__,
        )


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
