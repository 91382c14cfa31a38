"""Streaming benchmark: time to first visible text of a long answer from a slow model server.

    .venv/bin/python bench/streaming.py               # 1,000 tokens at 20 tokens/s: ~2.5 minutes
    .venv/bin/python bench/streaming.py --tokens 100  # a shorter run (~15 s)

The local fake OpenAI server (tests/adapters/openai/fake_openai.py, aiohttp on 127.0.0.1) writes
the answer at ``--rate`` tokens a second, as a slow OpenAI-compatible server does: streamed
(``stream: true``), each token goes out when it is written; unstreamed, the whole answer goes out
when the last one is. The bot's real pieces answer it: the openai SDK in ``OpenAIChatModel``,
``AnswerMessage`` (with in-memory storage), and for Discord the ``StreamedReply`` renderer the
chat cog uses, sending to a channel that records when each message is sent or edited.

Three ways of showing the same answer, one after the other:
- unstreamed — ``AnswerMessage.execute``, as every front end answered before: the first text a
  user sees is the whole answer (the console prints it; Discord sends it);
- console, streamed — ``AnswerMessage.stream``, printed as it comes: first visible text is the
  first piece the stream gives;
- Discord, streamed — ``StreamedReply.send(AnswerMessage.stream(...))``: first visible text is
  the first message sent (after at most ``FIRST_SEND_WAIT`` more, in case the answer is about to
  finish), then edits at most once every ``EDIT_INTERVAL``.

Checked, so the numbers mean something: each way ends with the same text (the server's answer),
and the Discord messages are exactly what sending it whole would give.

Target (issue 16): first visible text under 1 s streamed, against ~50 s unstreamed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "adapters" / "openai"))

from fake_openai import FakeOpenAI

from trainerbot.adapters.discord import messaging
from trainerbot.adapters.discord.replies import split_reply
from trainerbot.adapters.memory import InMemoryInteractionLog, InMemoryModelRegistry
from trainerbot.adapters.openai import OpenAIChatModel, make_client, service_name
from trainerbot.core.answer_message import AnswerMessage, AnswerRequest
from trainerbot.core.entities import Actor

MODEL = "gpt-4.1-mini-2025-04-14"
WORDS = [
    "the",
    "river",
    "runs",
    "through",
    "the",
    "old",
    "town",
    "and",
    "under",
    "seven",
    "stone",
    "bridges",
]


def long_answer(tokens: int) -> str:
    """``tokens`` words (the fake server's tokens), in sentences and paragraphs."""
    words = list(itertools.islice(itertools.cycle(WORDS), tokens))
    out: list[str] = []
    for number, word in enumerate(words, start=1):
        out.append(word + ("." if number % 12 == 0 else ""))
        if number % 60 == 0 and number < tokens:
            out.append("\n\n")
    return " ".join(out).replace(" \n\n ", "\n\n")


@dataclass
class Sent:
    id: int
    content: str
    channel: Channel

    async def edit(self, *, content: str, **options: Any) -> Sent:
        self.channel.updates.append(time.perf_counter())
        self.content = content
        return self

    async def delete(self) -> None:
        self.channel.messages.remove(self)


@dataclass
class Channel:
    """A Discord channel as the renderer sees it: it records when each message is sent or
    edited (an HTTP round trip to Discord is not counted)."""

    messages: list[Sent] = field(default_factory=list)
    updates: list[float] = field(default_factory=list)

    async def send(self, content: str, **options: Any) -> Sent:
        self.updates.append(time.perf_counter())
        message = Sent(len(self.updates), content, self)
        self.messages.append(message)
        return message


@dataclass
class Row:
    way: str
    first: float
    whole: float
    updates: int
    text: str


async def run(tokens: int, rate: float) -> list[Row]:
    answer_text = long_answer(tokens)
    async with FakeOpenAI() as server:
        server.reply = lambda body: answer_text
        server.tokens_per_second = rate
        async with make_client(
            api_key="sk-bench", base_url=server.base_url, timeout=tokens / rate + 60, max_retries=0
        ) as client:
            chat = OpenAIChatModel(client, service=service_name(server.base_url))
            answer = AnswerMessage(
                chat_model=chat,
                interactions=InMemoryInteractionLog(),
                models=InMemoryModelRegistry(),
                default_model=MODEL,
                system_prompt="You are a helpful bot.",
            )
            member = Actor("u-1", "Ann")
            rows: list[Row] = []

            def ask(number: int) -> AnswerRequest:
                return AnswerRequest("chan", member, "Tell me about the river.", f"m-{number}")

            start = time.perf_counter()
            result = await answer.execute(ask(1))
            done = time.perf_counter() - start
            rows.append(Row("unstreamed (execute)", done, done, 1, result.reply))

            start = time.perf_counter()
            first: float | None = None
            stream = await answer.stream(ask(2))
            async for _ in stream:  # a console would print each piece here
                first = first if first is not None else time.perf_counter() - start
            done = time.perf_counter() - start
            rows.append(Row("console, streamed", first or done, done, 0, stream.result.reply))

            channel = Channel()
            start = time.perf_counter()
            stream = await answer.stream(ask(3))
            sent = await messaging.StreamedReply(channel).send(stream)  # type: ignore[arg-type]
            done = time.perf_counter() - start
            chunks = split_reply(stream.result.reply)
            if len(chunks) <= messaging.MAX_REPLY_MESSAGES:
                assert [m.content for m in sent] == chunks, "Discord ended with other messages"
            rows.append(
                Row(
                    "Discord, streamed (first send)",
                    channel.updates[0] - start,
                    done,
                    len(channel.updates),
                    stream.result.reply,
                )
            )
    for row in rows:
        assert row.text == answer_text, f"{row.way} ended with other text"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1000, help="answer length (default 1000)")
    parser.add_argument("--rate", type=float, default=20.0, help="tokens a second (default 20)")
    args = parser.parse_args()
    rows = asyncio.run(run(args.tokens, args.rate))
    print(
        f"\n{args.tokens} tokens at {args.rate:g} tokens/s from the fake OpenAI server "
        f"({len(rows[0].text):,} characters); Discord: first send waits at most "
        f"{messaging.FIRST_SEND_WAIT:g} s more, updates every {messaging.EDIT_INTERVAL:g} s\n"
    )
    header = f"{'way':<32} {'first visible text':>19} {'whole answer':>13} {'sends+edits':>12}"
    print(header)
    print("-" * len(header))
    for row in rows:
        updates = str(row.updates) if row.updates else "-"
        print(f"{row.way:<32} {row.first:>17.2f} s {row.whole:>11.2f} s {updates:>12}")


if __name__ == "__main__":
    main()
