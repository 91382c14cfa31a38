"""Load benchmark: 200 members talking at once to the real bot, with voice messages, a slow model
and a few members over the per-member rate limit.

    .venv/bin/python bench/load.py                      # prints the table (about 1-2 minutes)
    .venv/bin/python bench/load.py --members 50 --voice 5 --messages 2   # a quick one

The real ``TrainerBot`` (``trainerbot.create_bot``) over a real container is driven through
dpytest's simulated Discord: the workspace is a folder on disk (a temporary one) and storage is
``filesystem``, so every interaction and reply link is really appended to
``records/interactions.jsonl``; voice messages are real Ogg/Opus speech (espeak, made as
bench/discord_load.py makes them) decoded by the real ffmpeg converter and recognised by the real
pocketsphinx engine. Only the chat model is swapped (``container.chat_model``): it answers
``answer to <the message>`` after sleeping 0.2-0.5 s, so answers pile up as with a slow model.

The load, all dispatched within ``--messages`` rounds ``--gap`` seconds apart (each message handed
to the bot as a gateway would, with ``dpytest.backend.make_message``, not waiting for handlers):
- ``--members`` members each send ``--messages`` text messages, one a round;
- ``--voice`` of them also send a voice message in the first round;
- ``--abusers`` of them instead send ``--abuse`` messages all at once in the first round (the
  last a voice message, if there are voice messages): over the limit (``--burst`` at once,
  ``--per-minute`` a minute), so some of theirs are refused.
Members within the limit send at most ``--burst`` messages (voice included), so none of theirs
may be refused.

The same load runs with the rate limit on, and with it off (``TRAINERBOT_RATE_LIMIT_PER_MINUTE=0``)
as the baseline, each in a fresh process (so peak memory is each run's own).

A reply is matched to its message by the message it replies to (the ``message_reference`` the bot
sends, taken from dpytest's HTTP layer); it comes out of dpytest's ``sent_queue`` in a task on the
bot's loop. Every text message must get exactly one reply: its answer or a one-line refusal;
every voice message a "🎙️ Heard" line and its answer, or a refusal. Anything else (no reply, two,
an error line, a reply to nothing) is counted and fails the run.

Measured, per run: replies, refusals and whom they went to, event-loop lag (a task sleeps
``--tick`` seconds over and over and records how late it wakes: p50/p99/max), the longest
garbage collection (it holds the loop: the worst lag is usually one), the growth of the
process's peak RSS (``ru_maxrss``; the recognition worker processes not included), wall time
from the first message to the last reply, and how many members the rate limiter still holds at
the end (the load's and the two of the warm-up; it forgets a member whose bucket has refilled,
at its next sweep, the first when 1,024 are held). The Python heap's peak (tracemalloc) comes
from a second run of each, with the same checks: tracing every allocation makes the garbage
collector's pauses, and so the worst lag, about three times longer.

Exits non-zero if a reply was lost, a member within the limit was refused, or (limit on) no
member over it was.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import discord
import discord.ext.test as dpytest
from discord_load import (
    HEARD_PREFIX,
    KEYWORDS,
    LagMonitor,
    close,
    make_voice_message,
    ms,
    percentile,
    print_table,
    working_directory,
)

from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.discord.bot import TrainerBot
from trainerbot.config import Settings
from trainerbot.container import create_bot, create_container
from trainerbot.core.entities import ChatMessage
from trainerbot.ports import ChatModel

ANSWER_PREFIX = "answer to "
REFUSAL_PREFIX = "You are sending messages faster than I can answer"
SLOWEST = 0.5  # seconds the model takes at most; at least FASTEST
FASTEST = 0.2


class SlowChatModel(ChatModel):
    """Answers ``answer to <last message>`` after 0.2-0.5 s (the same wait for the same text in
    both runs), as a model busy elsewhere does."""

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages: Sequence[ChatMessage], *, model: str) -> str:
        self.calls += 1
        text = messages[-1].content
        share = (zlib.crc32(text.encode("utf-8")) % 1000) / 1000
        await asyncio.sleep(FASTEST + (SLOWEST - FASTEST) * share)
        return f"{ANSWER_PREFIX}{text}"


@dataclass(frozen=True)
class Load:
    members: int
    messages: int
    voice: int
    abusers: int
    abuse: int
    gap: float
    tick: float
    timeout: float


@dataclass(frozen=True)
class Sent:
    """One message a member sent: its text ("" for a voice message)."""

    member: int
    text: str
    voice: bool


@dataclass
class Outcome:
    """What came back for one message."""

    heard: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)

    def finished(self, voice: bool) -> bool:
        if self.refusals or self.others:
            return True
        return bool(self.answers) and (not voice or bool(self.heard))


@dataclass
class RunResult:
    rate_limit: bool
    sent: int = 0
    voice_sent: int = 0
    replies: int = 0
    answered: int = 0
    refusals: int = 0
    refusals_to_over: int = 0
    refused_within: int = 0  # members within the limit who were refused (must be 0)
    over_refused: int = 0  # members over the limit who were refused at least once
    over_members: int = 0
    refused_each: tuple[int, int] = (0, 0)  # fewest and most refusals of a member over the limit
    lost: int = 0  # messages with no final reply
    extra: int = 0  # replies beyond one final reply per message, or replying to nothing
    errors: list[str] = field(default_factory=list)  # replies that are neither answer nor refusal
    voice_answered: int = 0
    unheard: int = 0  # voice messages whose "Heard" line holds none of the phrase's words
    interactions_written: int = 0
    model_calls: int = 0
    lag_p50: float = 0.0
    lag_p99: float = 0.0
    lag_max: float = 0.0
    lag_samples: int = 0
    gc_pause: float = 0.0  # the longest garbage collection in the window
    heap_peak: int = 0  # bytes
    rss_growth: int = 0  # bytes
    rss_peak: int = 0  # bytes
    wall: float = 0.0
    tracked: int = 0
    heard_sample: str = ""


# --- driving the bot ------------------------------------------------------------------------------


def record_references(bot: TrainerBot, references: dict[int, int]) -> None:
    """Note, for each message the bot sends, which message it replies to (dpytest's sent
    messages forget it)."""
    send = bot.http.send_message

    async def send_message(channel_id: int, *, params: Any) -> Any:
        # dpytest's FakeHttp finds the channel among its caller's local variables: hand it on.
        channel = sys._getframe(1).f_locals.get("channel")  # noqa: F841
        data = await send(channel_id, params=params)
        reference = (params.payload or {}).get("message_reference")
        if reference is not None:
            references[int(data["id"])] = int(reference["message_id"])
        return data

    bot.http.send_message = send_message  # type: ignore[method-assign]


class Collector:
    """Takes every message the bot sends out of dpytest's ``sent_queue``."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str]] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            message: discord.Message = await dpytest.runner.sent_queue.get()
            self.replies.append((message.id, message.content))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        assert self._task is not None
        await dpytest.run_all_events()
        while not dpytest.runner.sent_queue.empty():
            message: discord.Message = dpytest.runner.sent_queue.get_nowait()
            self.replies.append((message.id, message.content))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def classify(content: str, outcome: Outcome) -> None:
    if content.startswith(HEARD_PREFIX):
        outcome.heard.append(content.removeprefix(HEARD_PREFIX))
    elif content.startswith(ANSWER_PREFIX):
        outcome.answers.append(content)
    elif content.startswith(REFUSAL_PREFIX):
        outcome.refusals.append(content)
    else:
        outcome.others.append(content)


def plan(load: Load) -> list[list[tuple[int, str, bool]]]:
    """Per round, the (member, text, voice) messages to send, in order."""
    rounds: list[list[tuple[int, str, bool]]] = [[] for _ in range(load.messages)]
    for member in range(load.members):
        if member < load.abusers:
            # All at once, the last a voice message when there are any: refused too.
            rounds[0] += [
                (member, f"m{member} says {n}: hurry up!", False) for n in range(load.abuse)
            ]
            if load.voice:
                rounds[0][-1] = (member, "", True)
            continue
        if member < load.abusers + load.voice:
            rounds[0].append((member, "", True))
        for n in range(load.messages):
            rounds[n].append((member, f"m{member} says {n}: what should I read next?", False))
    return rounds


async def simulate(load: Load, voice: Path, settings: Settings, *, trace: bool) -> RunResult:
    container = create_container(settings)
    model = SlowChatModel()
    container.chat_model.override(model)
    bot = create_bot(container)
    result = RunResult(rate_limit=settings.rate_limit_per_minute > 0)
    try:
        # As bench/discord_load.py: fresh dpytest queues on this loop, members in the cache.
        dpytest.runner.sent_queue = dpytest.PeekableQueue()
        dpytest.runner.error_queue = dpytest.PeekableQueue()
        bot._connection._intents.members = True
        bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot.intents)
        # Two members besides the load's, for the warm-up.
        dpytest.configure(bot, members=[f"m{i}" for i in range(load.members + 2)])
        await bot._async_setup_hook()
        await bot.setup_hook()
        config = dpytest.get_config()
        channel = config.channels[0]
        members: list[discord.Member] = list(config.members)
        await dpytest.empty_queue()
        references: dict[int, int] = {}
        record_references(bot, references)
        collector = Collector()
        collector.start()

        # Warm-up, not measured: recognition workers started, decoders built, ffmpeg found, the
        # interaction log loaded.
        attachment = dpytest.backend.make_attachment(voice)
        dpytest.backend.make_message("", members[load.members], channel, attachments=[attachment])
        dpytest.backend.make_message("warming up", members[load.members + 1], channel)
        await wait_until(lambda: len(collector.replies) >= 3, load.timeout)
        await dpytest.run_all_events()
        collector.replies.clear()
        model.calls = 0
        interactions_before = count_interactions(settings.workspace)

        sent: dict[int, Sent] = {}
        outcomes: dict[int, Outcome] = defaultdict(Outcome)
        pending: set[int] = set()
        seen = 0

        def finished() -> bool:
            """Files the replies that came since last asked; whether every message has had
            its last reply."""
            nonlocal seen
            for reply_id, content in collector.replies[seen:]:
                target = references.get(reply_id, -1)
                target = target if target in sent else -1  # -1: a reply to no message sent
                classify(content, outcomes[target])
                if target in pending and outcomes[target].finished(sent[target].voice):
                    pending.discard(target)
            seen = len(collector.replies)
            return not pending

        rounds = plan(load)
        if trace:
            tracemalloc.start()
        rss_before = maxrss()
        pauses = GcPauses()
        monitor = LagMonitor(load.tick)
        monitor.start()
        started = time.perf_counter()
        for number, round_ in enumerate(rounds):
            if number:
                await asyncio.sleep(load.gap)
            for member, text, is_voice in round_:
                attachments = [dpytest.backend.make_attachment(voice)] if is_voice else None
                message = dpytest.backend.make_message(
                    text, members[member], channel, attachments=attachments
                )
                sent[message.id] = Sent(member, text, is_voice)
                pending.add(message.id)
                await asyncio.sleep(0)  # one gateway event at a time, as a real gateway delivers
        with contextlib.suppress(TimeoutError):
            await wait_until(finished, load.timeout)
        result.wall = time.perf_counter() - started
        await monitor.stop()
        await collector.stop()
        finished()
        result.gc_pause = pauses.stop()
        if trace:
            result.heap_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        result.rss_peak = maxrss()
        result.rss_growth = result.rss_peak - rss_before

        lags = monitor.lags
        result.lag_p50 = percentile(lags, 0.50)
        result.lag_p99 = percentile(lags, 0.99)
        result.lag_max = max(lags)
        result.lag_samples = len(lags)
        result.tracked = container.rate_limit().tracked
        result.model_calls = model.calls
        result.interactions_written = count_interactions(settings.workspace) - interactions_before
        judge(result, load, sent, outcomes, len(collector.replies))
        return result
    finally:
        await close(bot)
        # The container leaves the recogniser's worker processes running: end them here.
        stt = container.speech_to_text()
        if isinstance(stt, SpeechRecognitionSpeechToText):
            await asyncio.to_thread(stt.close, wait=True)


def judge(
    result: RunResult,
    load: Load,
    sent: dict[int, Sent],
    outcomes: dict[int, Outcome],
    replies: int,
) -> None:
    """Count what came back, and whom the refusals went to."""
    result.sent = len(sent)
    result.voice_sent = sum(s.voice for s in sent.values())
    result.replies = replies
    refused: Counter[int] = Counter()
    for message_id, message in sent.items():
        outcome = outcomes.get(message_id, Outcome())
        if not outcome.finished(message.voice):
            result.lost += 1
        finals = len(outcome.answers) + len(outcome.refusals) + len(outcome.others)
        result.extra += max(0, finals - 1) + max(0, len(outcome.heard) - 1)
        result.errors += outcome.others
        if outcome.refusals:
            refused[message.member] += len(outcome.refusals)
            result.refusals += len(outcome.refusals)
        elif outcome.answers:
            result.answered += 1
            expected = f"{ANSWER_PREFIX}{message.text}"
            if message.voice:
                result.voice_answered += 1
                expected = f"{ANSWER_PREFIX}{outcome.heard[0] if outcome.heard else ''}"
                if not KEYWORDS & set(outcome.heard[0].split() if outcome.heard else ()):
                    result.unheard += 1
                result.heard_sample = result.heard_sample or (outcome.heard or [""])[0]
            if outcome.answers[0] != expected:
                result.errors.append(f"wrong answer: {outcome.answers[0]!r}")
    stray = outcomes.get(-1)
    if stray is not None:  # replies to no message of the window (or to none at all)
        result.extra += len(stray.heard) + len(stray.answers) + len(stray.refusals)
        result.errors += stray.others
    over = range(load.abusers)
    result.over_members = load.abusers
    result.refusals_to_over = sum(count for member, count in refused.items() if member in over)
    result.refused_within = sum(1 for member in refused if member not in over)
    result.over_refused = sum(1 for member in over if refused[member])
    counts = [refused[member] for member in over] or [0]
    result.refused_each = (min(counts), max(counts))


class GcPauses:
    """The longest garbage collection while it is installed (a collection holds the loop)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._began)

    def stop(self) -> float:
        gc.callbacks.remove(self._callback)
        return self.longest


async def wait_until(condition: Any, within: float) -> None:
    deadline = time.perf_counter() + within
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.02)


def maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def count_interactions(workspace: Path) -> int:
    path = workspace / "records" / "interactions.jsonl"
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as lines:
        return sum(
            1 for line in lines if '"type": "interaction"' in line or '"type":"interaction"' in line
        )


# --- one run, in a process of its own ---------------------------------------------------------


def child(args: argparse.Namespace, load: Load) -> None:
    per_minute = args.per_minute if args.child == "on" else 0.0
    ffmpeg = resolve_ffmpeg()
    with tempfile.TemporaryDirectory(prefix="trainerbot-load-") as folder:
        root = Path(folder)
        settings = Settings(
            storage="filesystem",
            workspace=root / "workspace",
            stt_engine="sphinx",
            ffmpeg_path=Path(ffmpeg),
            rate_limit_per_minute=per_minute,
            rate_limit_burst=args.burst,
        )
        with working_directory(root):  # dpytest writes files the bot sends into the cwd
            result = asyncio.run(simulate(load, Path(args.voice_file), settings, trace=args.trace))
    print(json.dumps(asdict(result)))


def run_child(args: argparse.Namespace, rate_limit: str, voice: Path, *, trace: bool) -> RunResult:
    command = [sys.executable, __file__, "--child", rate_limit, "--voice-file", str(voice)]
    command += ["--trace"] if trace else []
    for name in ("members", "messages", "voice", "abusers", "abuse", "burst", "per_minute"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    command += ["--gap", str(args.gap), "--tick", str(args.tick), "--timeout", str(args.timeout)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the run with the rate limit {rate_limit} failed")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["refused_each"] = tuple(data["refused_each"])
    return RunResult(**data)


# --- the report ---------------------------------------------------------------------------------


def mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def report(args: argparse.Namespace, on: RunResult, off: RunResult) -> list[str]:
    """Prints the table; returns what failed."""
    rows: list[tuple[str, Any]] = [
        ("messages sent (voice)", lambda r: f"{r.sent} ({r.voice_sent})"),
        ("replies received", lambda r: f"{r.replies}"),
        ("messages answered", lambda r: f"{r.answered}"),
        ("**replies lost**", lambda r: f"**{r.lost}**"),
        ("extra or stray replies", lambda r: f"{r.extra}"),
        ("error replies", lambda r: f"{len(r.errors)}"),
        ("rate-limit refusals", lambda r: f"{r.refusals}"),
        ("… to members over the limit", lambda r: f"{r.refusals_to_over}"),
        (
            "members over the limit refused (each)",
            lambda r: (
                f"{r.over_refused}/{r.over_members} ({r.refused_each[0]}-{r.refused_each[1]})"
            ),
        ),
        ("**members within the limit refused**", lambda r: f"**{r.refused_within}**"),
        ("interactions written to disk", lambda r: f"{r.interactions_written}"),
        ("model calls", lambda r: f"{r.model_calls}"),
        (
            "voice messages answered (phrase heard)",
            lambda r: f"{r.voice_answered} ({r.voice_answered - r.unheard})",
        ),
        ("event-loop lag p50", lambda r: ms(r.lag_p50)),
        ("event-loop lag p99", lambda r: ms(r.lag_p99)),
        ("event-loop lag max", lambda r: ms(r.lag_max)),
        ("longest garbage-collector pause", lambda r: ms(r.gc_pause)),
        ("Python heap peak (tracemalloc)", lambda r: mb(r.heap_peak)),
        ("peak RSS growth (ru_maxrss)", lambda r: f"{mb(r.rss_growth)} (to {mb(r.rss_peak)})"),
        ("wall time, first message to last reply", lambda r: f"{r.wall:.1f} s"),
        ("members the rate limiter holds at the end", lambda r: f"{r.tracked}"),
    ]
    print_table(
        [
            "measure",
            f"rate limit on ({args.burst:g} at once, {args.per_minute:g}/min)",
            "rate limit off (baseline)",
        ],
        [[label, cell(on), cell(off)] for label, cell in rows],
    )
    return checks("on", on) + checks("off", off)


def checks(name: str, run: RunResult) -> list[str]:
    """What went wrong in ``run`` (``name`` says which run)."""
    failures: list[str] = []
    if run.lost:
        failures.append(f"limit {name}: {run.lost} messages got no reply")
    if run.refused_within:
        failures.append(f"limit {name}: {run.refused_within} members within the limit refused")
    if run.extra or run.errors:
        errors = Counter(run.errors).most_common(3)
        failures.append(f"limit {name}: {run.extra} extra replies, errors: {errors}")
    if run.unheard:
        failures.append(f"limit {name}: {run.unheard} voice messages not heard right")
    if run.rate_limit and run.over_refused < run.over_members:
        failures.append(
            f"limit {name}: only {run.over_refused} of {run.over_members} members over it refused"
        )
    if not run.rate_limit and run.refusals:
        failures.append(f"limit {name}: {run.refusals} refusals")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200, help="members talking at once")
    parser.add_argument("--messages", type=int, default=4, help="text messages per member")
    parser.add_argument(
        "--voice", type=int, default=20, help="members also sending a voice message"
    )
    parser.add_argument("--abusers", type=int, default=5, help="members over the rate limit")
    parser.add_argument("--abuse", type=int, default=10, help="messages each abuser sends at once")
    parser.add_argument("--burst", type=int, default=5, help="the rate limit's burst")
    parser.add_argument("--per-minute", type=float, default=20.0, help="the rate limit's refill")
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between rounds")
    parser.add_argument("--tick", type=float, default=0.005, help="lag monitor's sleep, seconds")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds to wait for replies")
    parser.add_argument("--child", choices=("on", "off"), help=argparse.SUPPRESS)
    parser.add_argument("--voice-file", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.members < 1 or args.abusers + args.voice > args.members:
        parser.error("--abusers and --voice are members: at most --members together")
    if args.messages < 1 or args.burst < 1 or args.per_minute <= 0 or args.tick <= 0:
        parser.error("--messages, --burst, --per-minute and --tick must be positive")
    if args.messages + (1 if args.voice else 0) > args.burst:
        parser.error("members within the limit send --messages (+1 voice): at most --burst")
    if args.abusers and args.abuse <= args.burst:
        parser.error("--abuse must be more than --burst, or the abusers are within the limit")
    load = Load(
        args.members,
        args.messages,
        args.voice,
        args.abusers,
        args.abuse,
        args.gap,
        args.tick,
        args.timeout,
    )
    if args.child:
        child(args, load)
        return

    begun = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        voice, seconds = make_voice_message(Path(folder), resolve_ffmpeg())
        within = args.members - args.abusers
        print(
            f"trainerbot load benchmark — {os.cpu_count()} cores; {args.members} members at once: "
            f"{within} send {args.messages} text messages each ({args.gap:g} s apart), "
            f"{args.voice} of them a voice message of {seconds:.1f} s too, {args.abusers} send "
            f"{args.abuse} at once ({'the last a voice message; ' if args.voice else ''}over the "
            f"limit); the model takes {FASTEST:g}-{SLOWEST:g} s an answer\n"
        )
        on = run_child(args, "on", voice, trace=False)
        off = run_child(args, "off", voice, trace=False)
        # Again, with tracemalloc: only the heap's peak is taken from these (and their checks).
        on_traced = run_child(args, "on", voice, trace=True)
        off_traced = run_child(args, "off", voice, trace=True)
    on.heap_peak, off.heap_peak = on_traced.heap_peak, off_traced.heap_peak
    failures = report(args, on, off)
    failures += checks("on, traced", on_traced) + checks("off, traced", off_traced)
    print(
        f"\nloop lag: how late a {ms(args.tick)} sleep woke ({on.lag_samples} and "
        f"{off.lag_samples} wake-ups). Each run in a fresh process, measured after a warm-up; "
        "the heap peak from a second run of each under tracemalloc (which slows the garbage "
        "collector, so the lag is measured without it); RSS without the recognition workers."
    )
    print(f"heard: {on.heard_sample!r}")
    print(f"took {time.perf_counter() - begun:.0f} s")
    if failures:
        print("\nFAILED:\n- " + "\n- ".join(failures))
        raise SystemExit(1)
    print("\nno reply lost; every refusal went to a member over the limit.")


if __name__ == "__main__":
    main()
