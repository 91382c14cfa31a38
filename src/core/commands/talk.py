"""Talking to the bot: greeting, help, the instructions, and its voice channel."""

from __future__ import annotations

from ..errors import UnknownCommand
from ..show_instructions import InstructionsRequest
from ..text import command as named
from ..text import current_prefix
from .base import Invocation, Reply, command
from .grammar import CommandSpec, Param

USAGE_WIDTH = 24


def greeting(name: str) -> str:
    return (
        f"Hi {name}! I'm trainerbot. Talk to me, correct me with {named('correct')} when I'm "
        f"wrong, and type {named('help')} to see everything I can do."
    )


@command(CommandSpec("hi", "Say hello."))
async def hi(call: Invocation) -> Reply:
    return Reply(greeting(call.actor.name))


@command(
    CommandSpec(
        "help",
        "List the commands, or show one command's usage.",
        (Param("command", "a command name"),),
    )
)
async def help_(call: Invocation) -> Reply:
    # The catalogue imports this module: it is looked up when help is asked for.
    from .catalogue import SPECS

    return Reply(help_text(SPECS, call.text("command")), preformatted=True)


def help_text(specs: dict[str, CommandSpec], asked: str | None) -> str:
    """Every command with its usage, or one command's arguments."""
    if asked:
        name = asked.strip().removeprefix(current_prefix()).removeprefix("/").lower()
        spec = specs.get(name)
        if spec is None:
            raise UnknownCommand(
                f"Unknown command {asked[:40]}. Type {named('help')} to see the commands."
            )
        lines = [spec.usage(), f"  {spec.summary}"]
        lines += [f"  {p.name}: {p.help}" for p in spec.params]
        if spec.trainer_only:
            lines.append("  (trainers only)")
        return "\n".join(lines)
    lines = ["Commands (trainer-only ones marked *):"]
    for spec in specs.values():
        mark = "*" if spec.trainer_only else " "
        usage = spec.usage()
        if len(usage) > USAGE_WIDTH:
            lines.append(f" {mark} {usage}\n     {spec.summary}")
        else:
            lines.append(f" {mark} {usage:<{USAGE_WIDTH}} {spec.summary}")
    lines.append(
        f"Anything else is answered by the model. {named('help', '<command>')} for details."
    )
    return "\n".join(lines)


@command(CommandSpec("instruction", "Show the instructions for trainers and users."))
async def instruction(call: Invocation) -> Reply:
    return Reply((await call.use_cases.show_instructions.execute(InstructionsRequest())).text)


@command(CommandSpec("join", "Join your voice channel and speak my answers there."))
async def join(call: Invocation) -> Reply:
    channel = await call.front_end.join_voice()
    return Reply(f"🔊 Joined {channel}; I will speak my answers there.")


@command(CommandSpec("leave", "Leave the voice channel."))
async def leave(call: Invocation) -> Reply:
    if not await call.front_end.leave_voice():
        return Reply("I am not in a voice channel here.")
    return Reply("👋 Left the voice channel.")
