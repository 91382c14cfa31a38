"""What the Discord tests share besides fixtures: the scripted model and the simulated server.

(A module of its own, not conftest.py: test modules import these names, and ``conftest`` is a
module name every test folder has.)
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from trainerbot.adapters.discord.bot import TrainerBot
from trainerbot.container import Container

TRAINER_ROLE = "trainer"
ANSWER = "Paris is the capital of France."


@dataclass
class Model:
    """What the scripted chat model answers: ``answer``, or raises ``failure`` if set."""

    answer: str = ANSWER
    failure: Exception | None = None

    def reply(self, messages: object, model: str) -> str:
        if self.failure is not None:
            raise self.failure
        return self.answer


@dataclass
class Server:
    """The simulated server: the bot, a text channel, a trainer and a plain member."""

    bot: TrainerBot
    guild: discord.Guild
    channel: discord.TextChannel
    trainer: discord.Member
    member: discord.Member
    container: Container
    model: Model
