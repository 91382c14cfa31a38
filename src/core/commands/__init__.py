"""The command layer, shared by the console, Discord (prefix and slash) and programs.

A command is a spec and a handler (``Command``), listed in ``catalogue.CATALOGUE``. A front
end reads what was typed (``split_command``, ``parse_command``, or ``arguments_from`` for a
slash command's options), builds an ``Invocation`` and renders the ``Reply`` that
``Command.run`` returns.
"""

from .base import Attached, Command, Files, FrontEnd, Invocation, NoVoice, Reply, command
from .catalogue import CATALOGUE, HANDLERS, SPECS, find, parse_command, run_command, unknown
from .grammar import (
    CommandSpec,
    Kind,
    Param,
    ParsedCommand,
    arguments_from,
    parse_arguments,
    split_command,
)
from .talk import greeting, help_text

# Every command's spec, by name, in help order.
COMMANDS = SPECS

__all__ = [
    "CATALOGUE",
    "COMMANDS",
    "HANDLERS",
    "SPECS",
    "Attached",
    "Command",
    "CommandSpec",
    "Files",
    "FrontEnd",
    "Invocation",
    "Kind",
    "NoVoice",
    "Param",
    "ParsedCommand",
    "Reply",
    "arguments_from",
    "command",
    "find",
    "greeting",
    "help_text",
    "parse_arguments",
    "parse_command",
    "run_command",
    "split_command",
    "unknown",
]
