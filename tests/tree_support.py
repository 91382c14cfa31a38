"""Helpers the test folders share (``tests/`` is on the path: its conftest.py puts it there)."""

from __future__ import annotations

import os
from pathlib import Path


def files(top: Path) -> dict[str, bytes]:
    """Every regular file below ``top`` with its bytes (links not followed)."""
    found = {}
    for directory, _, names in os.walk(top):
        for name in names:
            path = Path(directory, name)
            if not path.is_symlink():
                found[str(path.relative_to(top))] = path.read_bytes()
    return found
