"""The console: trainerbot's commands in a terminal, interactive or over a pipe."""

from .console import Console

__all__ = ["Console"]
