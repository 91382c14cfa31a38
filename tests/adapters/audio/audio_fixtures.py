"""Real audio for the audio adapter tests, made offline with espeak-ng and ffmpeg.

The tests build these files once per session (``audio_fixtures`` in ``conftest.py``), so nothing
binary is committed. To listen to them, write them to a folder:

    .venv/bin/python tests/adapters/audio/audio_fixtures.py OUTDIR

What is made (``AudioFixtures`` names each file):

- ``speech_wav``: each sentence in ``SENTENCES`` spoken by espeak-ng (``EspeakTextToSpeech``,
  voice en-US variant ``f2`` at 140 words a minute, the combination pocketsphinx's en-US models
  hear best), as mono 16-bit WAV at espeak's 22050 Hz.
- ``formats``: the ``FORMAT_SENTENCE`` in every container the bot accepts: wav, ogg (Opus), mp3,
  m4a (AAC, "fast start" so it reads from a pipe), aac (ADTS), webm (Opus), flac.
- ``voice_message``: the same sentence as a Discord voice message: Ogg/Opus, 48 kHz, mono.
- ``long_voice_message``: the sentences one after another with half a second between, for
  ``LONG_VOICE_SECONDS``, as a voice message: long enough for the converter to decode it in
  pieces side by side.
- ``m4a_index_at_end``: longer speech as an m4a whose index follows the audio (no fast start),
  which ffmpeg cannot read from a pipe.
- bad inputs: ``empty`` (0 bytes), ``random_ogg`` (2000 random bytes named .ogg),
  ``truncated_ogg`` (the first 30% of the too-long recording: complete Ogg pages, then a cut),
  ``silence`` (0.2 s of digital silence, WAV), ``too_long`` (the sentences one after another with
  half a second between, over ``TOO_LONG_SECONDS``, Ogg/Opus: over the limit of a converter built
  with ``max_seconds=TOO_LONG_LIMIT``).

Every file is the same, byte for byte, from run to run and session to session (see
``speak_in_fresh_processes``), so what Sphinx hears in them does not change either.

``KEYWORDS`` lists, per sentence, words Sphinx hears in these files after the production
conversion (ffmpeg → 16 kHz): in the sentence's WAV, and for ``FORMAT_SENTENCE`` in every
container and the voice message, both with pocketsphinx 5's default ``Decoder()`` and with
SpeechRecognition's ``recognize_sphinx`` models. Assert those, not exact text: Sphinx's accuracy
on synthetic speech is poor ("the weather is nice today" is "the weather is life today" to one
of the two), and a new espeak-ng would change the speech slightly. Measured over eight noise
seeds, "numbers" (one two three) and "station" (train station) are heard every time; "window"
almost always; "weather" is the fragile one ("today" three times in four).
"""

from __future__ import annotations

import array
import asyncio
import ctypes
import json
import random
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader

from trainerbot.adapters.audio.espeak import EspeakTextToSpeech
from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg

SENTENCES = {
    "weather": "the weather is nice today",
    "numbers": "one two three four five",
    "station": "where is the train station",
    "window": "open the window please",
}

KEYWORDS = {
    "weather": ("weather", "today"),
    "numbers": ("one", "two", "three"),
    "station": ("where", "train", "station"),
    "window": ("open", "window"),
}

FORMAT_SENTENCE = "numbers"

VOICE_VARIANT = "f2"
WORDS_PER_MINUTE = 140

SPEAK_OPTION = "--speak"  # internal: the fresh process that speaks one sentence
# espeak-ng's breath-noise seed (see speak_in_fresh_processes). Of the seeds 1-8, the one with
# which both Sphinx configurations hear every KEYWORD in every file.
NOISE_SEED = 8

TOO_LONG_LIMIT = 5.0  # max_seconds of the converter the too-long recording is meant for
TOO_LONG_SECONDS = 8.0
LONG_VOICE_SECONDS = 40.0  # long enough to be decoded in pieces side by side

# Encoder options per container; "wav" is espeak's own file, copied.
FORMAT_OPTIONS: dict[str, tuple[str, ...]] = {
    "ogg": ("-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "32k"),
    "mp3": ("-c:a", "libmp3lame", "-b:a", "64k"),
    "m4a": ("-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart"),
    "aac": ("-c:a", "aac", "-b:a", "64k", "-f", "adts"),
    "webm": ("-c:a", "libopus", "-b:a", "32k"),
    "flac": ("-c:a", "flac"),
}

# Discord voice messages: Ogg/Opus, 48 kHz, mono, a speech-tuned encoder.
VOICE_MESSAGE_OPTIONS = (
    "-ar",
    "48000",
    "-ac",
    "1",
    "-c:a",
    "libopus",
    "-b:a",
    "32k",
    "-application",
    "voip",
)


@dataclass(frozen=True)
class AudioFixtures:
    """Paths of the generated audio; see the module docstring for what each one is."""

    sentences: dict[str, str]
    speech_wav: dict[str, Path]
    formats: dict[str, Path]
    voice_message: Path
    long_voice_message: Path
    m4a_index_at_end: Path
    empty: Path
    random_ogg: Path
    truncated_ogg: Path
    silence: Path
    too_long: Path

    @property
    def format_sentence(self) -> str:
        """The text spoken in every file of ``formats`` and in ``voice_message``."""
        return self.sentences[FORMAT_SENTENCE]


def wav_duration(path: Path) -> float:
    """Seconds of audio in a WAV file."""
    with wave.open(str(path), "rb") as reader:
        return reader.getnframes() / reader.getframerate()


def write_wav(path: Path, samples: bytes, sample_rate: int) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(samples)
    return path


def encode(ffmpeg: str, source: Path, target: Path, options: tuple[str, ...]) -> Path:
    """``source`` → ``target`` with ffmpeg's encoder ``options``, the same bytes every time."""
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            *options,
            # No random stream serials or ids, no encoder version tag: reproducible files.
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            str(target),
        ],
        check=True,
        capture_output=True,
    )
    return target


def speak(text: str, target: Path) -> Path:
    """``text`` spoken by the project's own offline voice into the WAV file ``target``, in the
    fixtures' English voice (``speak_seeded``).

    Reproducible only as the first words of a fresh process: see ``speak_in_fresh_processes``.
    """
    return speak_seeded(
        text,
        target,
        language="en-US",
        variant=VOICE_VARIANT,
        words_per_minute=WORDS_PER_MINUTE,
    )


def speak_in_fresh_processes(out: Path) -> dict[str, Path]:
    """Each sentence spoken by ``speak`` in a new Python process of its own, as
    ``out/<name>.wav``: the same bytes every time, whatever the test session did before.

    espeak-ng's output is not a function of its input alone: its breath noise comes from a
    generator seeded from the clock, and some of its state carries over from one utterance to
    the next (with the same seed, a sentence spoken twice in a row differs the second time).
    Sphinx's transcripts change with those samples ("weather" is heard as "whether" one time in
    four). A fresh process with a fixed seed speaks a sentence the same way every time, and
    adding a sentence here changes no other.
    """
    targets = {name: out / f"{name}.wav" for name in SENTENCES}
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, SPEAK_OPTION, SENTENCES[name], str(target)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for name, target in targets.items()
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        if process.returncode != 0:
            raise RuntimeError(f"speaking a fixture sentence failed: {stderr.decode()[-2000:]}")
    return targets


def _long_speech(out: Path, speech_wav: dict[str, Path], seconds: float, name: str) -> Path:
    """Sentences one after another with half a second of silence between, until ``seconds``."""
    pieces: list[bytes] = []
    rate = 0
    total = 0.0
    while total < seconds:
        for path in speech_wav.values():
            with wave.open(str(path), "rb") as reader:
                rate = reader.getframerate()
                pieces.append(reader.readframes(reader.getnframes()))
            pieces.append(b"\0\0" * (rate // 2))
            total = sum(len(piece) for piece in pieces) / 2 / rate
            if total >= seconds:
                break
    return write_wav(out / name, b"".join(pieces), rate)


def make_fixtures(out: Path, *, ffmpeg: str) -> AudioFixtures:
    """Write every fixture into ``out`` (created if needed) and say where each one is."""
    out.mkdir(parents=True, exist_ok=True)
    speech_wav = speak_in_fresh_processes(out)

    source = speech_wav[FORMAT_SENTENCE]
    formats = {"wav": source}
    for extension, options in FORMAT_OPTIONS.items():
        formats[extension] = encode(ffmpeg, source, out / f"{FORMAT_SENTENCE}.{extension}", options)
    voice_message = encode(ffmpeg, source, out / "voice-message.ogg", VOICE_MESSAGE_OPTIONS)

    long_speech = _long_speech(out, speech_wav, TOO_LONG_SECONDS, "long-speech.wav")
    too_long = encode(ffmpeg, long_speech, out / "too-long.ogg", VOICE_MESSAGE_OPTIONS)
    m4a_index_at_end = encode(
        ffmpeg, long_speech, out / "index-at-end.m4a", ("-c:a", "aac", "-b:a", "96k")
    )

    minute_speech = _long_speech(out, speech_wav, LONG_VOICE_SECONDS, "minute-speech.wav")
    long_voice_message = encode(
        ffmpeg, minute_speech, out / "long-voice-message.ogg", VOICE_MESSAGE_OPTIONS
    )

    empty = out / "empty.ogg"
    empty.write_bytes(b"")
    random_ogg = out / "random.ogg"
    random_ogg.write_bytes(random.Random(4).randbytes(2000))  # noise, not a secret
    truncated_ogg = out / "truncated.ogg"
    recording = too_long.read_bytes()
    truncated_ogg.write_bytes(recording[: len(recording) * 3 // 10])
    silence = write_wav(out / "silence.wav", b"\0\0" * 3_200, 16_000)

    return AudioFixtures(
        sentences=dict(SENTENCES),
        speech_wav=speech_wav,
        formats=formats,
        voice_message=voice_message,
        long_voice_message=long_voice_message,
        m4a_index_at_end=m4a_index_at_end,
        empty=empty,
        random_ogg=random_ogg,
        truncated_ogg=truncated_ogg,
        silence=silence,
        too_long=too_long,
    )


# --- speech in any language (the multilingual Whisper tests) ----------------------------------


def speak_seeded(
    text: str,
    target: Path,
    *,
    language: str,
    variant: str | None = None,
    words_per_minute: int = 175,
    seed: int = NOISE_SEED,
) -> Path:
    """``speak`` in any language and voice: ``text`` spoken by ``EspeakTextToSpeech`` into the
    WAV file ``target``, with espeak-ng's noise seeded. Reproducible only as the first words of a
    fresh process: call it through ``speak_in_fresh_process``."""
    voice = EspeakTextToSpeech(variant=variant, words_per_minute=words_per_minute)
    library = ctypes.CDLL(espeakng_loader.get_library_path())
    library.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
    library.espeak_ng_SetRandSeed.restype = ctypes.c_int

    async def speak_once() -> bytes:
        # The first synthesis initialises espeak-ng, which seeds its noise from the clock.
        await voice.synthesize("ready", language=language)
        library.espeak_ng_SetRandSeed(seed)
        return (await voice.synthesize(text, language=language)).data

    target.write_bytes(asyncio.run(speak_once()))
    return target


def speak_in_fresh_process(
    text: str,
    target: Path,
    *,
    language: str,
    variant: str | None = None,
    words_per_minute: int = 175,
    seed: int = NOISE_SEED,
) -> Path:
    """``speak_seeded`` in a new Python process of its own: the same WAV bytes every time,
    whatever the calling process spoke before (see ``speak_in_fresh_processes``). Usable from any
    test folder: the child imports this module by its path."""
    options = {
        "language": language,
        "variant": variant,
        "words_per_minute": words_per_minute,
        "seed": seed,
    }
    child = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "import audio_fixtures; "
        "audio_fixtures.speak_seeded(sys.argv[2], Path(sys.argv[3]), **json.loads(sys.argv[4]))"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            child,
            str(Path(__file__).resolve().parent),
            text,
            str(target),
            json.dumps(options),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"speaking {language} speech failed: {done.stderr.decode()[-2000:]}")
    return target


def encode_voice_message(ffmpeg: str, source: Path, target: Path) -> Path:
    """``source`` as a Discord voice message (Ogg/Opus, 48 kHz, mono), the same bytes every time."""
    return encode(ffmpeg, source, target, VOICE_MESSAGE_OPTIONS)


def write_noise(path: Path, seconds: float, *, amplitude: int, seed: int = 1) -> Path:
    """``seconds`` of white noise at 16 kHz, uniform in +-``amplitude`` (of 32767), as a WAV file;
    amplitude 0 is digital silence. The same bytes for the same arguments."""
    count = int(seconds * 16_000)
    if amplitude == 0:
        return write_wav(path, b"\0\0" * count, 16_000)
    noise = random.Random(seed)  # test noise, not a secret
    samples = array.array("h", (noise.randint(-amplitude, amplitude) for _ in range(count)))
    if sys.byteorder != "little":
        samples.byteswap()
    return write_wav(path, samples.tobytes(), 16_000)


# Russian speech for the multilingual Whisper tests (a voice message, as Discord sends one).
# Measured with the bundled Whisper base, after the production conversion (ffmpeg, 16 kHz), over
# espeak-ng noise seeds 1-6 and as WAV and as an Ogg/Opus voice message: espeak's Russian voice
# with variant m3 at 140 words a minute is heard as "Привет. Как у тебя идея? Сегодня хорошая
# погода." every time (WER 12.5 %: "дела" is heard as "идея"), and detected as Russian under
# ``auto`` every time. The default voice (175 words a minute) is heard at 62 %, variant f2 at 150
# words a minute at 12-38 %; shorter sentences were detected as Polish, German or Czech as often
# as not. The same voice, variant and speed every time, so the transcript does not change.
RUSSIAN_SENTENCE = "Привет, как у тебя дела? Сегодня хорошая погода."
RUSSIAN_VARIANT = "m3"
RUSSIAN_WORDS_PER_MINUTE = 140


def make_russian_speech(out: Path, *, ffmpeg: str) -> tuple[Path, Path]:
    """``RUSSIAN_SENTENCE`` spoken by espeak-ng's Russian voice (``EspeakTextToSpeech`` with
    ``ru-RU``), as WAV and as a Discord voice message, in ``out`` (created if needed): the same
    bytes every time."""
    out.mkdir(parents=True, exist_ok=True)
    wav = speak_in_fresh_process(
        RUSSIAN_SENTENCE,
        out / "russian.wav",
        language="ru-RU",
        variant=RUSSIAN_VARIANT,
        words_per_minute=RUSSIAN_WORDS_PER_MINUTE,
    )
    return wav, encode_voice_message(ffmpeg, wav, out / "russian-voice-message.ogg")


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == SPEAK_OPTION:
        speak(argv[1], Path(argv[2]))
        return 0
    if len(argv) != 1:
        print("usage: audio_fixtures.py OUTDIR", file=sys.stderr)
        return 2
    fixtures = make_fixtures(Path(argv[0]), ffmpeg=resolve_ffmpeg())
    for path in sorted(Path(argv[0]).iterdir()):
        print(f"{path.stat().st_size:>9}  {path}")
    print(f"formats and voice message say: {fixtures.format_sentence!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
