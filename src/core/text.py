"""Small helpers for the sentences users read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


def plural(count: int, noun: str) -> str:
    """``1 file``, ``2 files``: a count with its noun (nouns taking a plain ``s``)."""
    return f"{count} {noun}" if count == 1 else f"{count:,} {noun}s"


# The command prefix the reader types (``TRAINERBOT_COMMAND_PREFIX``), for sentences that name a
# command. Each front end sets it for the work it runs (``command_prefix``); a program that
# embeds trainerbot without one sees ``!``, the default.
_PREFIX: ContextVar[str] = ContextVar("trainerbot_command_prefix", default="!")


def command(name: str, arguments: str = "") -> str:
    """``!jobs`` — or ``?jobs`` under prefix ``?`` — with ``arguments`` after a space."""
    shown = f"{_PREFIX.get()}{name}"
    return f"{shown} {arguments}" if arguments else shown


def current_prefix() -> str:
    """The prefix sentences are written with in this context."""
    return _PREFIX.get()


@contextmanager
def command_prefix(prefix: str) -> Iterator[None]:
    """Within the block (and the tasks and threads it starts), sentences name commands with
    ``prefix``."""
    token = _PREFIX.set(prefix)
    try:
        yield
    finally:
        _PREFIX.reset(token)
