"""Small helpers for the sentences users read."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: a count with its noun (nouns taking a plain ``s``)."""
    return f"{count} {noun}" if count == 1 else f"{count:,} {noun}s"
