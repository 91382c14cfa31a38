"""Audio benchmark: voice message → recognisable audio, and time to first spoken audio.

    .venv/bin/python bench/audio.py             # prints the tables (about a minute)
    .venv/bin/python bench/audio.py --runs 21   # more runs per measurement

1. Voice message → audio ready for speech recognition, for 10 s and 60 s Discord-style voice
   messages (48 kHz mono Ogg/Opus of real espeak speech), side by side in one run:
   (a) the original bot's pipeline — write the attachment to a file, pydub ``from_ogg``, export a
       WAV file, ``sr.AudioFile``, ``record`` — with ``codec="opus"`` so pydub does not call
       ffprobe, which the bundled ffmpeg lacks (the steps are otherwise the original's);
   (b) ours — ``FfmpegAudioConverter.to_pcm``: ffmpeg over pipes, 16 kHz mono PCM, the Opus
       packets joined into 120 ms ones, and a message of 30 s or more decoded in pieces side by
       side (one per core). "ours, one process" is the same with ``max_pieces=1``, to show what
       the pieces add.
   Each run happens in a fresh Python process so peak memory is the pipeline's own: the Python
   heap's peak (tracemalloc) and the process's peak resident memory growth (ru_maxrss). Wall
   time is measured in a separate process without tracemalloc, which would slow it down.
   The speed-up is the median of each round's ratio (a round runs the pipelines back to back),
   so a slow spell of the machine does not land on one side only.
   Targets: at 60 s ours is at least 2x faster and at least 5x lighter.

2. Time to first audio of a 5-sentence reply: ``SpeakReply`` (sentence by sentence, each queued
   as soon as it is synthesised) against synthesising the whole reply first. Target: ours is
   within first-sentence synthesis + 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

SENTENCE = (
    "The quick brown fox jumps over the lazy dog while the team talks about the weather today. "
)
REPLY = (
    "Paris is the capital of France. It lies on the river Seine. "
    "About two million people live in the city itself. "
    "The Eiffel Tower was finished in eighteen eighty nine. "
    "Many visitors also come for the museums and the food."
)


# --- making voice messages --------------------------------------------------------------------


def voice_message(seconds: int, out: Path) -> Path:
    """A Discord-like voice message: real espeak speech, looped to length, 48 kHz mono Ogg/Opus."""
    from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
    from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg

    clip = asyncio.run(EspeakTextToSpeech().synthesize(SENTENCE * 3, language="en-US"))
    speech = out / "speech.wav"
    speech.write_bytes(clip.data)
    target = out / f"voice-{seconds}s.ogg"
    subprocess.run(
        [
            resolve_ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            "-1",
            "-i",
            str(speech),
            "-t",
            str(seconds),
            "-ac",
            "1",
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-b:a",
            "32k",
            str(target),
        ],
        check=True,
    )
    return target


# --- the two pipelines, each run alone in a fresh process --------------------------------------


def original_pipeline(ogg: bytes, ffmpeg: str) -> int:
    """The original bot: attachment → file → pydub → WAV file → sr.AudioFile → record."""
    import speech_recognition as sr
    from pydub import AudioSegment

    AudioSegment.converter = ffmpeg
    with tempfile.TemporaryDirectory() as folder:
        ogg_path = Path(folder) / "voice.ogg"
        ogg_path.write_bytes(ogg)
        wav_path = Path(folder) / "voice.wav"
        # from_ogg(path) is from_file(path, "ogg"); codec= spares the ffprobe call it would make.
        decoded = AudioSegment.from_file(str(ogg_path), format="ogg", codec="opus")
        decoded.export(str(wav_path), format="wav")
        with sr.AudioFile(str(wav_path)) as source:
            audio = sr.Recognizer().record(source)
    return len(audio.frame_data)


def our_pipeline(
    ogg: bytes, ffmpeg: str, loop: asyncio.AbstractEventLoop, max_pieces: int | None = None
) -> int:
    """Ours: ffmpeg over pipes → 16 kHz mono PCM → recogniser input, on the bot's already
    running event loop. ``max_pieces=1`` keeps a long message in one ffmpeg process."""
    import speech_recognition as sr

    from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter
    from trainerbot.core.entities import AudioClip

    converter = FfmpegAudioConverter(ffmpeg=ffmpeg, max_pieces=max_pieces)
    pcm = loop.run_until_complete(converter.to_pcm(AudioClip(ogg, "voice.ogg", "audio/ogg")))
    audio = sr.AudioData(pcm.samples, pcm.sample_rate, 2)
    return len(audio.frame_data)


def measure_child(which: str, path: str, what: str) -> None:
    """Run one pipeline once (imports done first) and print its cost as JSON: its wall time
    (``what="time"``), or its Python heap peak and resident memory growth (``what="memory"``).
    Time and memory come from separate runs because tracing every allocation slows Python code
    down, and by how much depends on how many allocations a pipeline makes, not on its speed."""
    # Imported before measuring, as a running bot has them loaded.
    import pydub  # noqa: F401
    import speech_recognition  # noqa: F401

    import trainerbot.adapters.audio.ffmpeg  # noqa: F401
    from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg

    # A running bot has found its ffmpeg long before a voice message arrives: not measured.
    ffmpeg = resolve_ffmpeg()
    ogg = Path(path).read_bytes()
    # The bot's event loop exists long before a message arrives (the original blocked it).
    loop = asyncio.new_event_loop()
    # So do the one-off costs of a first call (a worker thread, asyncio's child watcher, the
    # files ffmpeg maps): each pipeline runs once unmeasured, then once measured.
    pipelines = {
        "original": original_pipeline,
        "ours": partial(our_pipeline, loop=loop),
        "ours-one": partial(our_pipeline, loop=loop, max_pieces=1),
    }
    pipeline = pipelines[which]
    pipeline(ogg, ffmpeg)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if what == "memory":
        tracemalloc.start()
    started = time.perf_counter()
    produced = pipeline(ogg, ffmpeg)
    elapsed = time.perf_counter() - started
    result: dict[str, float] = {"bytes": produced}
    if what == "memory":
        result["heap_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result["rss_growth_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    else:
        result["seconds"] = elapsed
    loop.close()
    print(json.dumps(result))


def run_child(which: str, path: Path) -> dict[str, float]:
    """One fresh process timing the pipeline, and another measuring its memory."""
    measured: dict[str, float] = {}
    for what in ("time", "memory"):
        result = subprocess.run(
            [sys.executable, __file__, "--child", which, str(path), what],
            capture_output=True,
            text=True,
            check=True,
        )
        measured |= json.loads(result.stdout.strip().splitlines()[-1])
    return measured


# --- time to first audio ------------------------------------------------------------------------


async def first_audio(runs: int) -> tuple[float, float, float]:
    """Median seconds to the first queued clip: sentence streaming, whole reply, first sentence."""
    from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
    from trainerbot.core.entities import AudioClip
    from trainerbot.core.speak_reply import SpeakReply, SpeakRequest, split_sentences
    from trainerbot.ports import VoiceOutput

    tts = EspeakTextToSpeech()
    await tts.synthesize("warm up", language="en-US")

    class FirstClipClock(VoiceOutput):
        def __init__(self) -> None:
            self.first: float | None = None

        async def enqueue(self, target: str, clip: AudioClip) -> None:
            if self.first is None:
                self.first = time.perf_counter()

    streaming, whole, first_sentence = [], [], []
    sentences = split_sentences(REPLY)
    for _ in range(runs):
        clock = FirstClipClock()
        sut = SpeakReply(text_to_speech=tts, voice=clock, language="en-US")
        started = time.perf_counter()
        await sut.execute(SpeakRequest(text=REPLY, target="guild"))
        assert clock.first is not None
        streaming.append(clock.first - started)

        started = time.perf_counter()
        await tts.synthesize(REPLY, language="en-US")
        whole.append(time.perf_counter() - started)

        started = time.perf_counter()
        await tts.synthesize(sentences[0], language="en-US")
        first_sentence.append(time.perf_counter() - started)
    return statistics.median(streaming), statistics.median(whole), statistics.median(first_sentence)


# --- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=11, help="runs per measurement (median shown)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_child(*args.child)
        return

    print(f"trainerbot audio benchmark — {os.cpu_count()} cores, median of {args.runs} runs\n")
    print("1. Voice message → audio ready for recognition")
    header = (
        f"{'length':>6} | {'pipeline':<28} | {'wall s':>7} | {'heap peak MB':>12} | "
        f"{'RSS growth MB':>13} | {'speed-up':>8} | {'lighter (heap)':>14}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as folder:
        for seconds in (10, 60):
            path = voice_message(seconds, Path(folder))
            results: dict[str, list[dict[str, float]]] = {
                "original": [],
                "ours-one": [],
                "ours": [],
            }
            for _ in range(args.runs):  # alternate, so machine noise hits all alike
                for which in results:
                    results[which].append(run_child(which, path))
            medians = {
                which: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                for which, runs in results.items()
            }
            # Speed-up per round (the pipelines of a round run back to back), then the median:
            # a slow spell of the machine then slows both sides of a ratio, not one of them.
            speedups = {
                which: statistics.median(
                    a["seconds"] / b["seconds"]
                    for a, b in zip(results["original"], runs, strict=True)
                )
                for which, runs in results.items()
            }
            original, ours = medians["original"], medians["ours"]
            for which, label in (
                ("original", "(a) original: files + pydub"),
                ("ours-one", "    ours, one process"),
                ("ours", "(b) ours"),
            ):
                m = medians[which]
                speedup = speedups[which]
                lighter = original["heap_peak"] / m["heap_peak"]
                print(
                    f"{seconds:>5}s | {label:<28} | {m['seconds']:>7.3f} | "
                    f"{m['heap_peak'] / 2**20:>12.2f} | {m['rss_growth_kb'] / 1024:>13.1f} | "
                    f"{speedup:>7.2f}x | {lighter:>13.1f}x"
                )
            if seconds == 60:
                fast = speedups["ours"]
                light = original["heap_peak"] / ours["heap_peak"]
                print(
                    f"\n   60 s targets: ≥ 2x faster → {fast:.2f}x {'met' if fast >= 2 else 'NOT met'}; "
                    f"≥ 5x lighter → {light:.1f}x {'met' if light >= 5 else 'NOT met'}"
                )

    streaming, whole, first_sentence = asyncio.run(first_audio(args.runs))
    print("\n2. Time to first audio of a 5-sentence reply (espeak)")
    print(f"   {'sentence by sentence (ours)':<34} {streaming * 1000:>8.1f} ms")
    print(f"   {'whole reply first':<34} {whole * 1000:>8.1f} ms")
    print(f"   {'first-sentence synthesis alone':<34} {first_sentence * 1000:>8.1f} ms")
    bound = first_sentence + 0.100
    print(
        f"   target: ≤ first sentence + 100 ms = {bound * 1000:.1f} ms → "
        f"{'met' if streaming <= bound else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
