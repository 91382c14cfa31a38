"""Lexical rules for paths a user types.

A user path is always relative to the workspace. These rules refuse, before anything touches the
disk, what can never be inside it: absolute paths, drive letters, ``..`` in any spelling the
filesystem understands, NUL and control characters, lone surrogates, and over-long names. The
storage adapter then resolves symlinks and checks the real location again, because only the
filesystem knows where a link leads.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidPath, PathOutsideWorkspace

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255

_DRIVE = re.compile(r"^[A-Za-z]:")


def parse_user_path(text: str, *, allow_root: bool = False) -> str:
    """Return ``text`` as a normalised workspace-relative POSIX path, or raise.

    ``""`` stands for the workspace itself and is returned only with ``allow_root``.
    Raises ``PathOutsideWorkspace`` for paths that leave it and ``InvalidPath`` for malformed ones.
    """
    if "\x00" in text:
        raise InvalidPath("That path contains a NUL byte.")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise InvalidPath("That path contains control characters.")
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        # Lone surrogates (undecodable bytes, broken JSON escapes) cannot be encoded as a name.
        raise InvalidPath("That path is not valid Unicode text.")
    raw = text.strip()
    if len(raw) > MAX_PATH_CHARS:
        raise InvalidPath(f"That path is longer than {MAX_PATH_CHARS} characters.")
    # Windows separators are separators here too: "..\\x" must not slip through as one name.
    unified = raw.replace("\\", "/")
    if unified.startswith(("/", "~")) or _DRIVE.match(unified):
        raise PathOutsideWorkspace()
    parts: list[str] = []
    for part in unified.split("/"):
        if part in ("", "."):
            continue
        if part.strip() == ".." or (part.rstrip(". ") == "" and ".." in part):
            raise PathOutsideWorkspace()
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise InvalidPath(f"A name in that path is longer than {MAX_NAME_BYTES} bytes.")
        parts.append(part)
    # What "./" hid must not begin the normalised path either: "./C:/x" is still a drive.
    if parts and (parts[0].startswith("~") or _DRIVE.match(parts[0])):
        raise PathOutsideWorkspace()
    if not parts and not allow_root:
        raise InvalidPath("Give a path inside the workspace.")
    return "/".join(parts)
