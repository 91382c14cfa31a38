"""Discord load benchmark: chat messages from many members while voice messages are recognised.

    .venv/bin/python bench/discord_load.py             # prints the table (1-2 minutes, more if busy)
    .venv/bin/python bench/discord_load.py --runs 5    # more runs per design (median shown)
    .venv/bin/python bench/discord_load.py --rate 400  # more text traffic

Two bots are driven through dpytest's simulated Discord in the same run, with the same members,
messages and audio, one round after the other (the order alternates from round to round):

(a) the original's design — a ``commands.Bot`` whose ``on_message`` does the work on the event
    loop, as the original bot did: ``subprocess.run`` of ffmpeg decodes a voice message to
    16 kHz mono PCM, the recogniser runs in the handler (the same pocketsphinx call as ours,
    ``SphinxEngine.recognize``, its decoder kept warm, so the work is the same), then
    ``await channel.send`` says what was heard and answers;
(b) ours — the real ``TrainerBot`` from ``trainerbot.create_bot`` with its cogs, over a container
    with in-memory storage, the real ``FfmpegAudioConverter`` (ffmpeg as an asyncio subprocess)
    and the real offline recogniser (Sphinx, in the adapter's bounded pool of worker processes).

Both answer with the same instant chat model (``answer to <text>``), so what is measured is the
bot, not a model. A voice message is real espeak speech (about 2 s), encoded as Discord sends
voice messages (Ogg/Opus, 48 kHz, mono).

The measured window: at its start ``--recognitions`` members each send a voice message (all
dispatched at once, as a gateway delivers them), and from then on every one of ``--members``
members sends ``--messages`` text messages, offered at ``--rate`` messages a second in all (a
message due while the loop is busy is delivered as soon as it runs again, as a gateway backlog
is). The window ends when every reply has arrived. Messages are dispatched without waiting for
their handlers (``dpytest.backend.make_message``, not ``dpytest.message``, which waits for all
handlers), so the work overlaps as in a real server. A reply counts as arrived when it comes out
of dpytest's ``sent_queue`` in a task on the bot's loop, as a real HTTP request needs the loop.

Measured, per run:
- event-loop lag: a task sleeps ``--tick`` seconds over and over and records how late it wakes;
  p50, p99 and max of those samples, and "stalled": the share of the window spent inside lags of
  50 ms or more (a stalled loop takes one sample per stall, so percentiles alone understate it);
- text replies: latency from the moment a message was due to its answer (p50, p99), and text
  replies per second (text messages / time until the last text answer: a bot that keeps up
  shows the offered ``--rate``);
- the time until all replies (text answers, "🎙️ Heard: …" lines and voice answers) arrived.
Checked, so the numbers mean something: every text message got exactly its answer, every voice
message one "Heard" line with a word of the spoken phrase and one answer, and nothing else was sent.

Target: ours keeps the loop's p99 lag under 50 ms with 20 recognitions in flight.

Ours runs its recognition workers at a lower priority than the bot (``WORKER_NICENESS``), so on
a machine busy with other work its voice messages can take longer to finish than the original's,
which takes the CPU at the bot's own priority; "all replies in" shows it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import re
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
import speech_recognition as sr
from discord.ext import commands

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.audio.sphinx import SphinxEngine
from trainerbot.adapters.discord.bot import intents
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.container import Container, create_bot, create_container
from trainerbot.core.entities import ChatMessage

# Spoken in every voice message: espeak's en-US voice "f2" at 140 words a minute, which Sphinx
# hears best (see tests/adapters/audio/audio_fixtures.py); a heard line must hold one of KEYWORDS.
PHRASE = "where is the train station"
KEYWORDS = frozenset({"where", "train", "station"})
VOICE_VARIANT = "f2"
WORDS_PER_MINUTE = 140
QUIET = ("-hide_banner", "-loglevel", "error")  # ffmpeg says only what went wrong
# Discord voice messages: Ogg/Opus, 48 kHz, mono, a speech-tuned encoder.
VOICE_MESSAGE_OPTIONS: tuple[str, ...] = (
    "-ar",
    "48000",
    "-ac",
    "1",
    "-c:a",
    "libopus",
    "-b:a",
    "32k",
)
VOICE_MESSAGE_OPTIONS += ("-application", "voip")

HEARD_PREFIX = "🎙️ Heard: "
ANSWER_PREFIX = "answer to "
TEXT_MESSAGE = re.compile(r"^answer to message (\d+) from ")
TARGET_P99 = 0.050  # seconds
STALL = 0.050  # a lag at least this long counts as the loop being stalled


def answer(text: str) -> str:
    """The instant chat model both designs answer with."""
    return f"{ANSWER_PREFIX}{text}"


def text_message(index: int, member: discord.Member) -> str:
    return f"message {index} from {member.name}: what should I read next?"


# --- the voice message ----------------------------------------------------------------------


def make_voice_message(folder: Path, ffmpeg: str) -> tuple[Path, float]:
    """A Discord-like voice message of PHRASE, and its length in seconds."""
    voice = EspeakTextToSpeech(variant=VOICE_VARIANT, words_per_minute=WORDS_PER_MINUTE)
    clip = asyncio.run(voice.synthesize(PHRASE, language="en-US"))
    speech = folder / "speech.wav"
    speech.write_bytes(clip.data)
    target = folder / "voice-message.ogg"
    subprocess.run(
        [ffmpeg, *QUIET, "-y", "-i", str(speech), *VOICE_MESSAGE_OPTIONS, str(target)],
        check=True,
        capture_output=True,
    )
    seconds = len(decode_blocking(ffmpeg, target.read_bytes())) / 2 / 16_000
    return target, seconds


# --- the original's design: the work done in the handler, on the event loop ------------------


def decode_blocking(ffmpeg: str, data: bytes) -> bytes:
    """ffmpeg as the original ran it: a blocking subprocess, here to 16 kHz mono 16-bit PCM."""
    return subprocess.run(
        [ffmpeg, *QUIET, "-i", "pipe:0", "-ac", "1", "-ar", "16000", "-f", "s16le", "pipe:1"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout


def transcribe_blocking(ffmpeg: str, engine: SphinxEngine, data: bytes) -> str:
    """Decode and recognise, synchronously: called from the handler, it holds the event loop."""
    pcm = decode_blocking(ffmpeg, data)
    return engine.recognize(sr.AudioData(pcm, 16_000, 2), "en-US")


class OriginalDesignBot(commands.Bot):
    """The original's design: ``on_message`` transcribes and answers in the handler itself."""

    def __init__(self, ffmpeg: str) -> None:
        super().__init__(command_prefix="!", intents=intents(), help_command=None)
        self.ffmpeg = ffmpeg
        self.engine = SphinxEngine()  # the same recogniser as ours, decoder kept warm

    async def on_message(self, message: discord.Message, /) -> None:
        if message.author.bot:
            return
        text = message.content
        audio = next((a for a in message.attachments if a.filename.endswith(".ogg")), None)
        if audio is not None:
            data = await audio.read()
            heard = transcribe_blocking(self.ffmpeg, self.engine, data)
            await message.channel.send(f"{HEARD_PREFIX}{heard}")
            text = f"{text}\n{heard}".strip()
        await message.channel.send(answer(text))


# --- ours: the real bot over the real container -------------------------------------------------


def our_container(ffmpeg: str) -> Container:
    container = create_container(
        Settings(storage="memory", stt_engine="sphinx", ffmpeg_path=Path(ffmpeg))
    )

    def reply(messages: Sequence[ChatMessage], model: str) -> str:
        return answer(messages[-1].content)

    container.chat_model.override(InMemoryChatModel(reply))
    return container


# --- measuring --------------------------------------------------------------------------------


class LagMonitor:
    """Sleeps ``tick`` seconds over and over on the loop, recording how late each wake-up is."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.tick)
            self.lags.append(max(0.0, time.perf_counter() - before - self.tick))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class ReplyCollector:
    """Takes every message the bot sends out of dpytest's ``sent_queue``, with its arrival time."""

    def __init__(self) -> None:
        self.replies: list[tuple[float, str]] = []
        self.unexpected: str | None = None
        self._expected = 0
        self._enough = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            message: discord.Message = await dpytest.runner.sent_queue.get()
            self.replies.append((time.perf_counter(), message.content))
            if not message.content.startswith((ANSWER_PREFIX, HEARD_PREFIX)):
                # An error message, or "I heard nothing": no use waiting for the rest.
                self.unexpected = message.content
                self._enough.set()
            if len(self.replies) >= self._expected:
                self._enough.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def wait_for(self, expected: int, within: float) -> None:
        self._expected = expected
        if len(self.replies) >= expected:
            return
        self._enough.clear()
        try:
            await asyncio.wait_for(self._enough.wait(), within)
        except TimeoutError:
            raise RuntimeError(
                f"only {len(self.replies)} of {expected} replies arrived in {within:.0f} s"
            ) from None
        if self.unexpected is not None:
            raise RuntimeError(f"unexpected reply: {self.unexpected!r}")

    async def stop(self) -> None:
        assert self._task is not None
        # Anything sent after the expected count (an error message, a duplicate) is caught too.
        await dpytest.run_all_events()
        while not dpytest.runner.sent_queue.empty():
            message: discord.Message = dpytest.runner.sent_queue.get_nowait()
            self.replies.append((time.perf_counter(), message.content))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class RunResult:
    lag_p50: float
    lag_p99: float
    lag_max: float
    stalled: float  # share of the window
    text_p50: float
    text_p99: float
    text_per_second: float
    all_in: float
    lag_samples: float  # how often the lag monitor woke in the window
    heard: list[str] = field(default_factory=list)


MEASURES = (
    "lag_p50",
    "lag_p99",
    "lag_max",
    "stalled",
    "text_p50",
    "text_p99",
    "text_per_second",
    "all_in",
    "lag_samples",
)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def check(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(what)


@contextlib.contextmanager
def working_directory(folder: Path) -> Iterator[None]:
    """dpytest writes every file a bot sends to ./dpytest_<n>.dat: not into the repository."""
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


@dataclass(frozen=True)
class Load:
    members: int
    messages: int
    recognitions: int
    rate: float
    tick: float
    timeout: float


async def simulate(bot: commands.Bot, load: Load, voice: Path) -> RunResult:
    """Put ``bot`` on a fresh simulated server, warm it up, then measure one window."""
    # dpytest's queues are module globals, and an asyncio.Queue binds to the first loop that
    # waits on it: each run (its own asyncio.run) gets new ones.
    dpytest.runner.sent_queue = dpytest.PeekableQueue()
    dpytest.runner.error_queue = dpytest.PeekableQueue()
    # dpytest keeps its simulated members in discord.py's member cache, which needs the
    # (privileged) members intent; the bots themselves do without it.
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
    dpytest.configure(bot, members=[f"m{i}" for i in range(load.members)])
    await bot._async_setup_hook()
    await bot.setup_hook()
    config = dpytest.get_config()
    channel = config.channels[0]
    members: list[discord.Member] = list(config.members)
    await dpytest.empty_queue()

    def send_voice(member: discord.Member) -> None:
        attachment = dpytest.backend.make_attachment(voice)
        dpytest.backend.make_message("", member, channel, attachments=[attachment])

    collector = ReplyCollector()
    collector.start()

    # Warm-up, not measured: start the recognition workers, build decoders, find ffmpeg...
    for member in members[:2]:
        send_voice(member)
    dpytest.backend.make_message("warming up", members[2 % len(members)], channel)
    await collector.wait_for(2 * 2 + 1, load.timeout)
    await dpytest.run_all_events()
    collector.replies.clear()

    texts = load.members * load.messages
    due: list[float] = []
    monitor = LagMonitor(load.tick)
    monitor.start()
    started = time.perf_counter()
    for member in members[: load.recognitions]:
        send_voice(member)
    for index in range(texts):
        due_at = started + index / load.rate
        due.append(due_at)
        delay = due_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        member = members[index % len(members)]
        dpytest.backend.make_message(text_message(index, member), member, channel)
    expected = texts + 2 * load.recognitions
    await collector.wait_for(expected, load.timeout)
    finished = time.perf_counter()
    await monitor.stop()
    await collector.stop()

    # Every message got its replies, and nothing else was sent.
    text_at: dict[int, float] = {}
    heard: list[str] = []
    voice_answers: list[str] = []
    for arrived, content in collector.replies:
        if matched := TEXT_MESSAGE.match(content):
            index = int(matched.group(1))
            check(index not in text_at, f"text message {index} was answered twice")
            check(content == answer(text_message(index, members[index % len(members)])), content)
            text_at[index] = arrived
        elif content.startswith(HEARD_PREFIX):
            heard.append(content.removeprefix(HEARD_PREFIX))
        elif content.startswith(ANSWER_PREFIX):
            voice_answers.append(content)
        else:
            raise RuntimeError(f"unexpected reply: {content!r}")
    check(len(collector.replies) == expected, f"{len(collector.replies)} replies, not {expected}")
    check(sorted(text_at) == list(range(texts)), "a text message was not answered")
    check(len(heard) == load.recognitions, f"{len(heard)} heard lines")
    # Each voice message was answered with what was heard in it.
    check(Counter(voice_answers) == Counter(map(answer, heard)), "voice answers do not match")
    for line in heard:
        check(bool(KEYWORDS & set(line.split())), f"the phrase was not heard: {line!r}")

    window = finished - started
    lags = monitor.lags
    latencies = [text_at[index] - due[index] for index in range(texts)]
    return RunResult(
        lag_p50=percentile(lags, 0.50),
        lag_p99=percentile(lags, 0.99),
        lag_max=max(lags),
        stalled=sum(lag for lag in lags if lag >= STALL) / window,
        text_p50=percentile(latencies, 0.50),
        text_p99=percentile(latencies, 0.99),
        text_per_second=texts / (max(text_at.values()) - started),
        all_in=window,
        lag_samples=len(lags),
        heard=heard,
    )


async def close(bot: commands.Bot) -> None:
    # dpytest's FakeWebSocket has no socket, which Client.close() asks about: detach it first.
    bot.ws = None  # type: ignore[assignment]
    await bot.close()


async def run_ours(load: Load, voice: Path, ffmpeg: str) -> RunResult:
    container = our_container(ffmpeg)
    bot = create_bot(container)
    try:
        return await simulate(bot, load, voice)
    finally:
        await close(bot)
        # The container leaves the recogniser's worker processes running: end them here.
        stt = container.speech_to_text()
        if isinstance(stt, SpeechRecognitionSpeechToText):
            await asyncio.to_thread(stt.close, wait=True)


async def run_original(load: Load, voice: Path, ffmpeg: str) -> RunResult:
    bot = OriginalDesignBot(ffmpeg)
    try:
        return await simulate(bot, load, voice)
    finally:
        await close(bot)


DESIGNS: dict[str, tuple[str, Callable[[Load, Path, str], Coroutine[Any, Any, RunResult]]]] = {
    "ours": ("ours (trainerbot)", run_ours),
    "original": ("original (synchronous handler)", run_original),
}


# --- the report ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 100 else f"{milliseconds:,.0f} ms"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        padded = [cells[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    print(line(header))
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        print(line(row))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200, help="members sending text messages")
    parser.add_argument("--messages", type=int, default=3, help="text messages per member")
    parser.add_argument(
        "--recognitions", type=int, default=20, help="voice messages in flight at the start"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="text messages offered a second")
    parser.add_argument("--runs", type=int, default=2, help="runs per design (median shown)")
    parser.add_argument("--tick", type=float, default=0.005, help="lag monitor's sleep, seconds")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for replies")
    args = parser.parse_args()
    if args.members < 3 or not 0 <= args.recognitions <= args.members:
        parser.error("--members must be at least 3, and --recognitions at most --members")
    if args.messages < 1 or args.rate <= 0 or args.runs < 1 or args.tick <= 0:
        parser.error("--messages, --rate, --runs and --tick must be positive")
    load = Load(args.members, args.messages, args.recognitions, args.rate, args.tick, args.timeout)

    begun = time.perf_counter()
    ffmpeg = resolve_ffmpeg()
    results: dict[str, list[RunResult]] = {name: [] for name in DESIGNS}
    with tempfile.TemporaryDirectory() as folder, working_directory(Path(folder)):
        voice, seconds = make_voice_message(Path(folder), ffmpeg)
        texts = load.members * load.messages
        print(
            f"trainerbot Discord load benchmark — {os.cpu_count()} cores; {load.recognitions} "
            f"voice messages of {seconds:.1f} s at the start, {texts} text messages from "
            f"{load.members} members at {load.rate:g}/s; median of {args.runs} runs\n"
        )
        for round_ in range(args.runs):
            # Alternate the order, so a slow spell of the machine does not land on one side only.
            order = list(DESIGNS) if round_ % 2 == 0 else list(reversed(DESIGNS))
            for name in order:
                run = DESIGNS[name][1]
                results[name].append(asyncio.run(run(load, voice, ffmpeg)))

    medians = {
        name: RunResult(*(statistics.median(getattr(run, key) for run in runs) for key in MEASURES))
        for name, runs in results.items()
    }
    rows = [
        [
            DESIGNS[name][0],
            ms(m.lag_p50),
            ms(m.lag_p99),
            ms(m.lag_max),
            f"{m.stalled:.0%}",
            ms(m.text_p50),
            ms(m.text_p99),
            f"{m.text_per_second:.1f}",
            f"{m.all_in:.1f} s",
        ]
        for name, m in medians.items()
    ]
    print_table(
        [
            *("design", "loop lag p50", "p99", "max", "stalled", "text reply p50", "p99"),
            *("text replies/s", "all replies in"),
        ],
        rows,
    )
    samples = ", ".join(f"{name} {medians[name].lag_samples:.0f}" for name in DESIGNS)
    print(
        f"\nloop lag: how late a {ms(load.tick)} sleep woke (wake-ups in the window: {samples}); "
        f"stalled: the share of the window spent inside lags of {ms(STALL)} or more.\n"
        "text reply latency counts from the moment a message was due; all replies in: from the "
        "first voice message until the last reply."
    )
    for name, (label, _) in DESIGNS.items():
        heard = Counter(line for run in results[name] for line in run.heard)
        common = "; ".join(f"{line!r} ×{count}" for line, count in heard.most_common(2))
        print(f"{label} heard: {common}")

    ours = medians["ours"].lag_p99
    worst = max(run.lag_p99 for run in results["ours"])
    print(
        f"\ntarget p99 < {ms(TARGET_P99)} with {load.recognitions} recognitions in flight: "
        f"{'met' if ours < TARGET_P99 else 'NOT met'} (ours {ms(ours)}, worst run {ms(worst)}; "
        f"the original's design {ms(medians['original'].lag_p99)})"
    )
    print(f"took {time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main()
