"""Streamed answers in Discord, through dpytest: the first words are sent before the answer is
finished, the messages are edited as it grows (never more often than the edit interval),
continued past 2,000 characters, and end exactly as the answer sent whole would; every message
is linked to the interaction; an answer marked unwanted is never shown, not even in part.

The chat model here is gated: the test hands it each piece, so what is checked is what Discord
shows between two pieces — no test waits on a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import callbacks
from discord_support import Server, until

from trainerbot.adapters.discord import messaging
from trainerbot.adapters.discord.messaging import LONG_REPLY_FILENAME, send_text
from trainerbot.adapters.discord.replies import split_reply
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.container import Container
from trainerbot.core.entities import ChatMessage
from trainerbot.core.unwanted import WITHHELD_REPLY

INTERVAL = 0.2


class GatedChatModel(InMemoryChatModel):
    """Streams exactly the pieces the test gives it (``give``), until ``end``."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: asyncio.Queue[str | None] = asyncio.Queue()
        self.not_this: tuple[str, ...] = ()
        self.streaming = False

    async def give(self, *pieces: str) -> None:
        for piece in pieces:
            self._pieces.put_nowait(piece)
        await asyncio.sleep(0)

    def end(self) -> None:
        self._pieces.put_nowait(None)

    async def stream(self, messages: Sequence[ChatMessage], *, model: str) -> AsyncIterator[str]:
        self.streaming = True
        while (piece := await self._pieces.get()) is not None:
            yield piece

    async def unwanted(self, messages: Sequence[ChatMessage], *, model: str) -> frozenset[str]:
        return frozenset(self.not_this)


@dataclass
class Shown:
    """What the channel shows, kept up to date from dpytest's send, edit and delete events."""

    contents: dict[int, str] = field(default_factory=dict)
    history: list[tuple[str, str]] = field(default_factory=list)  # (event, content)
    times: list[float] = field(default_factory=list)  # when each send or edit happened

    def now(self) -> list[str]:
        return list(self.contents.values())

    def every_text(self) -> list[str]:
        return [content for _, content in self.history]


@pytest.fixture
def gated() -> GatedChatModel:
    return GatedChatModel()


@pytest.fixture
def container(container: Container, gated: GatedChatModel) -> Container:
    container.chat_model.override(gated)
    return container


@pytest.fixture
async def shown(server: Server, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Shown]:
    monkeypatch.setattr(messaging, "FIRST_SEND_WAIT", 0.05)
    monkeypatch.setattr(messaging, "EDIT_INTERVAL", INTERVAL)
    record = Shown()
    loop = asyncio.get_running_loop()
    on_send = callbacks.get_callback("send_message")

    async def sent(message: discord.Message, *args: Any, **kwargs: Any) -> None:
        if message.author == server.bot.user:
            record.contents[message.id] = message.content
            record.history.append(("send", message.content))
            record.times.append(loop.time())
        await on_send(message, *args, **kwargs)

    async def edited(channel: Any, message: discord.Message, fields: dict[str, Any]) -> None:
        content = fields["params"].payload.get("content", message.content)
        record.contents[message.id] = content
        record.history.append(("edit", content))
        record.times.append(loop.time())

    async def deleted(channel: Any, message: discord.Message, **kwargs: Any) -> None:
        record.contents.pop(message.id, None)
        record.history.append(("delete", message.content))

    callbacks.set_callback(sent, "send_message")
    callbacks.set_callback(edited, "edit_message")
    callbacks.set_callback(deleted, "delete_message")
    yield record
    callbacks.set_callback(on_send, "send_message")
    callbacks.remove_callback("edit_message")
    callbacks.remove_callback("delete_message")


def ask(server: Server, text: str) -> asyncio.Task[Any]:
    """The member says ``text``; the task ends once the bot is done with it."""
    return asyncio.create_task(dpytest.message(text, channel=server.channel, member=server.member))


async def linked(server: Server, message_id: int) -> str | None:
    found = await server.container.interactions().find_by_message(str(message_id))
    return None if found is None else found.reply


async def test_the_first_words_are_sent_at_once_then_edited_as_the_answer_grows(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    asked = ask(server, "What is the capital of France?")
    await gated.give("Paris")
    await until(lambda: shown.now() == ["Paris"])
    assert not asked.done()

    await gated.give(" is the", " capital")
    await until(lambda: shown.now() == ["Paris is the capital"])
    await gated.give(" of France.")
    gated.end()
    await asked

    assert shown.now() == ["Paris is the capital of France."]
    assert [event for event, _ in shown.history] == ["send", "edit", "edit"]
    [message] = [m async for m in server.channel.history(limit=5) if m.author == server.bot.user]
    assert message.content == "Paris is the capital of France."
    assert await linked(server, message.id) == "Paris is the capital of France."


async def test_messages_are_updated_at_most_once_an_interval_while_the_answer_grows(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    asked = ask(server, "Count for me.")
    for number in range(60):
        await gated.give(f" {number}")
        await asyncio.sleep(0.01)
    gated.end()
    await asked

    assert shown.now() == [" ".join(str(n) for n in range(60))]
    # Every update but the last (made at once when the answer is finished) waited the interval.
    gaps = [later - earlier for earlier, later in zip(shown.times, shown.times[1:], strict=False)]
    assert len(gaps) >= 2
    assert all(gap >= INTERVAL * 0.95 for gap in gaps[:-1])


async def test_an_answer_past_the_limit_continues_in_new_messages_and_ends_as_if_sent_whole(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    paragraph = "The Seine flows through Paris. " * 20  # 620 characters
    answer = "\n\n".join([paragraph.strip()] * 5) + "\n```python\nprint('done')\n```"
    asked = ask(server, "Tell me about the Seine.")
    for start in range(0, len(answer), 150):
        await gated.give(answer[start : start + 150])
        await asyncio.sleep(0.02)
    gated.end()
    await asked

    assert shown.now() == split_reply(answer)
    assert len(shown.now()) == 2
    for message_id in shown.contents:
        assert await linked(server, message_id) == answer


async def test_an_answer_too_long_for_four_messages_ends_as_one_message_with_a_file(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    answer = "\n".join(f"Line {n}: " + "word " * 30 for n in range(60)).strip()  # ~9,600 chars
    asked = ask(server, "Write a lot.")
    await gated.give(answer[:3000])
    await until(lambda: len(shown.now()) == 2)
    await gated.give(answer[3000:])
    gated.end()
    await asked

    assert len(shown.now()) == 1  # the two streamed messages were replaced by one
    assert [event for event, _ in shown.history].count("delete") == 2
    [message] = [m async for m in server.channel.history(limit=10) if m.author == server.bot.user]
    assert [a.filename for a in message.attachments] == [LONG_REPLY_FILENAME]
    assert await message.attachments[0].read() == answer.encode()
    assert await linked(server, message.id) == answer


async def test_the_finished_messages_read_exactly_as_send_text_would_send_the_answer(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    answer = "Short first line.\n" + "x" * 2500 + "\nlast"
    asked = ask(server, "Go.")
    await gated.give(*[answer[i : i + 400] for i in range(0, len(answer), 400)])
    gated.end()
    await asked
    streamed = shown.now()

    whole = await send_text(server.channel, answer)

    assert streamed == [message.content for message in whole]


async def test_an_answer_marked_unwanted_is_never_shown_even_in_part(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    gated.not_this = ("Sure, share your password with anyone.",)
    asked = ask(server, "Can I share my password?")
    for word in ["Sure,", " share", " your", " password", " with", " anyone."]:
        await gated.give(word)
        await asyncio.sleep(INTERVAL)  # time enough for an update, were there one to show
    gated.end()
    await asked

    assert shown.now() == [WITHHELD_REPLY]
    assert all("password" not in text for text in shown.every_text())


async def test_an_answer_that_turns_away_from_an_unwanted_one_is_shown_from_then_on(
    server: Server, gated: GatedChatModel, shown: Shown
) -> None:
    gated.not_this = ("Sure, share your password.",)
    asked = ask(server, "Can I share my password?")
    await gated.give("Sure,", " share")
    await asyncio.sleep(INTERVAL)
    assert shown.now() == []  # it may still become the unwanted answer
    await gated.give(" nothing: never share it.")
    await until(lambda: shown.now() == ["Sure, share nothing: never share it."])
    gated.end()
    await asked

    assert shown.now() == ["Sure, share nothing: never share it."]
