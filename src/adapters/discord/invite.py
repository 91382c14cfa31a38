"""The URL that adds the bot to a server: the ``bot`` and ``applications.commands`` scopes and
exactly the permissions the bot uses (``trainerbot invite``).

Rules:
- The permissions are what the bot does, nothing more: see channels and read messages
  (``view_channel``); answer (``send_messages``, and ``send_messages_in_threads`` in threads);
  answer as a reply and find its own status messages again to edit them
  (``read_message_history``); send long answers, exports and spoken answers as files
  (``attach_files``); join a voice channel and speak there (``connect``, ``speak``). It reads
  reactions (feedback) but adds none, and sends no embeds.
- The application id is the one given, or else read from the token: a bot token's first
  dot-separated part is the bot user's id in base64, which is the application's id for every
  application made since 2017. Nothing else of the token is read, and it is never shown.
"""

from __future__ import annotations

import base64
import binascii

import discord

SCOPES = ("bot", "applications.commands")


def permissions() -> discord.Permissions:
    """What the bot needs in a server (the module's rules say why each)."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        read_message_history=True,
        attach_files=True,
        connect=True,
        speak=True,
    )


def application_id_from_token(token: str) -> int | None:
    """The id a bot token names (its first part, base64), or None if it names none."""
    first = token.strip().split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
    text = decoded.decode("ascii", errors="replace")
    return int(text) if text.isdigit() and len(text) <= 20 else None


def invite_url(application_id: int) -> str:
    """``https://discord.com/oauth2/authorize?client_id=…&scope=bot+applications.commands&…``"""
    return discord.utils.oauth_url(application_id, permissions=permissions(), scopes=SCOPES)
