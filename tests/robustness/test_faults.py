"""Faults (issue 7, item 4): what the OpenAI side, the speech engines and ffmpeg throw at the bot.

Every case goes through the real ``Console`` (or, for voice messages, spoken replies and followed
jobs, the real use case) over a real container whose OpenAI client points at the local
``FakeOpenAI`` (127.0.0.1, with injected faults), with its workspace in ``tmp_path``. For each
case the user gets one answer that says what went wrong in words (no traceback, no secret, no raw
JSON), within ``BOUND`` seconds, and nothing is recorded as done that was not done; a job whose
status polling failed stays as it was recorded and is settled by a later refresh.

The table: six OpenAI faults (``OPENAI_FAULTS``: 429, 500, a timeout, a dropped connection, a
malformed body, permission denied) against every operation that calls OpenAI, then the speech
engines and ffmpeg. A case proven elsewhere is named here rather than tested again.

- chat, ``!train method=openai``, ``!transcribe`` (openai engine) × 6 faults:
  ``test_an_openai_fault_is_one_clear_reply`` (no interaction logged; the job recorded failed with
  its reason; nothing left at the provider). Adapter level: adapters/openai/test_openai_chat.py
  ``test_a_fault_past_the_retries_is_one_sentence_naming_the_server``, test_openai_trainer.py
  ``test_permission_denied_*`` and ``test_rate_limited_upload_is_retried``, test_openai_speech.py
  (server error, drop, malformed). Secrets in logs: test_openai_chat.py
  ``test_secrets_appear_in_no_error_and_no_log_line_for_any_fault``.
- ``!jobs <id>`` and ``!cancel <id>`` × 6: ``test_a_job_whose_polling_failed_is_kept_and_settled_later``.
- FollowJob × 6: ``test_follow_job_notes_an_outage_once_and_keeps_following`` (with the memory
  trainer: tests/unit/test_follow_job.py ``test_an_unreachable_provider_is_noted_once_...``).
- embeddings (the fewshot trainer, and answering with its model) × 6:
  ``test_embeddings_faults_degrade_fewshot_to_tf_idf_and_say_so``.
- text to speech (openai) × 6, with the espeak fallback and with TRAINERBOT_TTS_FALLBACK=none:
  ``test_an_online_voice_that_fails_falls_back_to_espeak``,
  ``test_an_online_voice_that_fails_without_fallback_says_why``. The fallback failing too:
  adapters/audio/test_fallback.py ``test_when_both_fail_the_primarys_error_is_raised``; gtts
  offline: ``test_gtts_without_network_falls_back_to_espeak``.
- no key, unreachable base URL, unknown model: adapters/openai/test_openai_console_errors.py.
- a restart while a job runs: adapters/openai/test_openai_restart.py.
- the recognizer raising (``!transcribe``, a voice message):
  ``test_a_recognizer_that_raises_is_one_clear_line``; a recognition worker process dying:
  adapters/audio/test_recognition_sphinx.py ``test_a_dead_worker_is_a_service_error_and_...``.
- ffmpeg missing, exiting 1, dying of SIGSEGV, hanging (``!transcribe``, a voice message):
  ``test_a_broken_ffmpeg_is_one_clear_line``. Converter level: adapters/audio/
  test_ffmpeg_converter.py ``test_the_converter_with_a_missing_ffmpeg_is_unavailable``,
  ``test_an_ffmpeg_that_cannot_run_is_unavailable``, ``test_a_timeout_kills_ffmpeg_and_says_so``.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import struct
import sys
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from dependency_injector import providers

# The support modules of the adapter tests, importable by name as in their own folders.
_TESTS = Path(__file__).resolve().parents[1]
for _folder in (_TESTS / "adapters" / "openai", _TESTS / "adapters" / "audio"):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

from audio_fixtures import VOICE_MESSAGE_OPTIONS, encode, write_wav  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from openai_adapter_support import API_KEY, assert_one_clear_line  # noqa: E402

from database_support import table_rows  # noqa: E402
from trainerbot.adapters.audio.engine import RecognitionEngine  # noqa: E402
from trainerbot.adapters.audio.ffmpeg import resolve_ffmpeg  # noqa: E402
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText  # noqa: E402
from trainerbot.adapters.console import Console  # noqa: E402
from trainerbot.adapters.memory import InMemoryVoiceOutput  # noqa: E402
from trainerbot.config import Settings  # noqa: E402
from trainerbot.container import Container, close_container, create_container  # noqa: E402
from trainerbot.core.entities import Actor, AudioClip, JobStatus, TrainingJob  # noqa: E402
from trainerbot.core.errors import TrainerbotError  # noqa: E402
from trainerbot.core.follow_job import FollowJobRequest, JobUpdate  # noqa: E402
from trainerbot.core.speak_reply import SpeakRequest  # noqa: E402
from trainerbot.core.transcribe_voice import TranscribeRequest  # noqa: E402
from trainerbot.ports import SpeechToText, VoiceOutput  # noqa: E402

T = TypeVar("T")

BOUND = 8.0  # seconds: any answer later than this counts as a hang
RETRIES = 1  # openai_max_retries: each retried fault is injected once per attempt
TIMEOUT = 0.5  # openai_timeout
TRAINER = Actor(id="console", name="console user", can_train=True)
# What a user must never see: raw JSON of an error body, the SDK's codes.
_RAW_JSON = re.compile(r"[{}]|\"error\"|rate_limit_exceeded|invalid_request_error")
CHAT_JSONL = "\n".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"What is {i} plus {i}?"},
                {"role": "assistant", "content": f"{2 * i}."},
            ]
        }
    )
    for i in range(20)
)


@dataclass(frozen=True)
class Fault:
    """One OpenAI-side fault: how the fake acts it out and the words the user reads."""

    kind: str
    phrase: str
    retried: bool
    options: dict[str, Any] = field(default_factory=dict)
    # A refusal (not an outage): polling cannot help until the configuration changes.
    refusal: bool = False

    def inject(self, server: FakeOpenAI, path: str, *, outages: int = 1) -> None:
        """Fail every attempt (the first and each retry) of ``outages`` calls to ``path``."""
        attempts = (RETRIES + 1) if self.retried else 1
        server.inject(self.kind, path=path, times=attempts * outages, **self.options)


OPENAI_FAULTS = {
    "429": Fault("rate_limit", "rate-limiting", True, {"retry_after": "0.05"}),
    "500": Fault("server_error", "server error", True),
    "timeout": Fault("slow", "did not answer in time", True, {"delay": 4 * TIMEOUT}),
    "dropped": Fault("drop", "cannot reach", True),
    "malformed": Fault("malformed", "could not read", False),
    "403": Fault("permission_denied", "does not allow", False, refusal=True),
}


# --- helpers ---------------------------------------------------------------------------------


async def bounded(work: Awaitable[T]) -> T:
    """``work``, or a failed test if it takes longer than ``BOUND``: nothing may hang."""
    return await asyncio.wait_for(work, BOUND)


def assert_clear(message: str, phrase: str) -> None:
    """One line, in words, saying ``phrase``: no traceback, no secret, no raw JSON."""
    assert phrase in message, f"{phrase!r} not said in {message!r}"
    assert_one_clear_line(message)
    assert not _RAW_JSON.search(message), f"raw JSON shown to the user: {message!r}"


def assert_error_reply(reply: str, phrase: str) -> None:
    assert reply.startswith("error: "), reply
    assert_clear(reply.removeprefix("error: "), phrase)


def tone(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    """A 440 Hz tone as 16-bit mono samples: audio ffmpeg decodes (and nobody says anything)."""
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )


@pytest.fixture(scope="module")
def voice_message(tmp_path_factory: pytest.TempPathFactory) -> AudioClip:
    """A one-second Discord voice message (Ogg/Opus, 48 kHz mono), made by the real ffmpeg."""
    folder = tmp_path_factory.mktemp("voice")
    wav = write_wav(folder / "tone.wav", tone(), 16_000)
    ogg = encode(resolve_ffmpeg(), wav, folder / "voice-message.ogg", VOICE_MESSAGE_OPTIONS)
    return AudioClip(data=ogg.read_bytes(), filename="voice-message.ogg")


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = FakeOpenAI()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@dataclass
class Bot:
    container: Container
    console: Console
    workspace: Path

    async def say(self, line: str) -> str:
        return await bounded(self.console.handle(line))

    async def job(self, job_id: str) -> TrainingJob:
        job = await self.container.jobs().get(job_id)
        assert job is not None
        return job

    def interactions(self) -> list[dict[str, object]]:
        """Every interaction recorded in the workspace's database, whatever its conversation."""
        return table_rows(self.workspace, "interactions")


@pytest.fixture
async def make_bot(fake: FakeOpenAI, tmp_path: Path) -> AsyncIterator[Any]:
    """``make_bot(**settings)``: a console over a real container on ``fake``, workspace in tmp."""
    built: list[Container] = []

    def make(
        *, stt: SpeechToText | None = None, voice: VoiceOutput | None = None, **settings: Any
    ) -> Bot:
        workspace = tmp_path / "ws"
        (workspace / "audio").mkdir(parents=True, exist_ok=True)
        write_wav(workspace / "audio" / "clip.wav", tone(), 16_000)
        options: dict[str, Any] = {
            "workspace": workspace,
            "openai_base_url": fake.base_url,
            "openai_api_key": API_KEY,
            "openai_max_retries": RETRIES,
            "openai_timeout": TIMEOUT,
            "openai_poll_seconds": 0.01,
            "job_poll_seconds": 0.01,
            "stt_engine": "openai",
            "stt_workers": 1,
        }
        options.update(settings)
        container = create_container(Settings(**options))
        built.append(container)
        # Adapters swapped in before the use cases are built from them.
        if stt is not None:
            container.speech_to_text.override(providers.Object(stt))
        if voice is not None:
            container.voice_output.override(providers.Object(voice))
        return Bot(container, Console(container.use_cases(), conversation_id="c1"), workspace)

    yield make
    for container in built:
        await container.openai_client().close()
        stt = container.speech_to_text()
        if isinstance(stt, SpeechRecognitionSpeechToText):
            stt.close()
        await close_container(container)  # the records' database


async def start_openai_job(bot: Bot) -> str:
    reply = await bot.say(f"!train method=openai name=qa ```\n{CHAT_JSONL}\n```")
    found = re.search(r"Training job (job-\w+)", reply)
    assert found is not None, reply
    return found.group(1)


# --- OpenAI faults × operations --------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    path: str  # where the fault is injected
    line: str  # what the user types


OPERATIONS = {
    "chat": Operation("/chat/completions", "What is the capital of France?"),
    "train-openai": Operation("/fine_tuning/jobs", f"!train method=openai ```\n{CHAT_JSONL}\n```"),
    "transcribe-openai": Operation("/audio/transcriptions", "!transcribe audio/clip.wav"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_an_openai_fault_is_one_clear_reply(
    fake: FakeOpenAI, make_bot: Any, fault: str, operation: str
) -> None:
    bot = make_bot()
    case = OPERATIONS[operation]
    OPENAI_FAULTS[fault].inject(fake, case.path)

    reply = await bot.say(case.line)

    assert_error_reply(reply, OPENAI_FAULTS[fault].phrase)
    assert fake.pending_faults == 0, "every attempt (and no more) met the fault"
    # Nothing is recorded as done that was not done.
    assert bot.interactions() == []
    for job in await bot.container.jobs().all():
        assert job.status is JobStatus.FAILED
        assert job.error, "the failed job keeps its reason"
        assert_clear(job.error, OPENAI_FAULTS[fault].phrase)
        assert job.provider_job_id is None
    assert fake.jobs == {}
    assert [f for f in fake.files.values() if f.purpose == "fine-tune"] == [], "uploads deleted"


@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_a_job_whose_polling_failed_is_kept_and_settled_later(
    fake: FakeOpenAI, make_bot: Any, fault: str
) -> None:
    bot = make_bot()
    job_id = await start_openai_job(bot)
    before = await bot.job(job_id)
    OPENAI_FAULTS[fault].inject(fake, "/fine_tuning/jobs/")

    reply = await bot.say(f"!jobs {job_id}")

    shown, note = reply.split("\n  note: ")
    assert job_id in shown
    assert "validating" in shown
    assert_clear(note, OPENAI_FAULTS[fault].phrase)
    assert await bot.job(job_id) == before, "kept as recorded: not failed, not changed"
    assert fake.pending_faults == 0
    # Cancelling meets the same fault: said, and the job is not recorded as cancelled.
    OPENAI_FAULTS[fault].inject(fake, "/fine_tuning/jobs/")
    assert_error_reply(await bot.say(f"!cancel {job_id}"), OPENAI_FAULTS[fault].phrase)
    assert await bot.job(job_id) == before
    assert fake.pending_faults == 0

    # The outage is over: following resumes where it was and settles the job.
    replies = [await bot.say(f"!jobs {job_id}") for _ in range(3)]
    assert "note:" not in "".join(replies)
    settled = await bot.job(job_id)
    assert settled.status is JobStatus.SUCCEEDED
    assert settled.model is not None
    assert settled.model in await bot.say("!models")


async def follow(bot: Bot, job_id: str) -> list[JobUpdate]:
    request = FollowJobRequest(actor=TRAINER, job_id=job_id)

    async def collect() -> list[JobUpdate]:
        return [update async for update in bot.container.use_cases().follow_job.execute(request)]

    return await bounded(collect())


@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_follow_job_notes_an_outage_once_and_keeps_following(
    fake: FakeOpenAI, make_bot: Any, fault: str
) -> None:
    bot = make_bot()
    job_id = await start_openai_job(bot)
    before = await bot.job(job_id)
    # An outage meets two polls in a row: it is noted once, not at every poll. A refusal ends
    # following at once (polling cannot help), with the reason, the job kept as recorded.
    outages = 1 if OPENAI_FAULTS[fault].refusal else 2
    OPENAI_FAULTS[fault].inject(fake, "/fine_tuning/jobs/", outages=outages)

    updates = await follow(bot, job_id)

    notes = [update.note for update in updates if update.note]
    assert len(notes) == 1, updates
    assert_clear(notes[0], OPENAI_FAULTS[fault].phrase)
    assert updates[0].job.status is JobStatus.VALIDATING
    assert fake.pending_faults == 0
    if OPENAI_FAULTS[fault].refusal:
        assert updates == [JobUpdate(before, notes[0])]
        assert await bot.job(job_id) == before, "kept as recorded: not failed"
        updates = await follow(bot, job_id)  # asked again once the refusal is lifted
        assert not any(update.note for update in updates)
    assert updates[-1].job.status is JobStatus.SUCCEEDED
    assert (await bot.job(job_id)).status is JobStatus.SUCCEEDED


@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_embeddings_faults_degrade_fewshot_to_tf_idf_and_say_so(
    fake: FakeOpenAI, make_bot: Any, fault: str
) -> None:
    bot = make_bot()
    OPENAI_FAULTS[fault].inject(fake, "/embeddings")

    reply = await bot.say(f"!train method=fewshot name=sums ```\n{CHAT_JSONL}\n```")

    found = re.search(r"Training job (job-\w+) \(fewshot\): succeeded", reply)
    assert found is not None, reply
    job = await bot.job(found.group(1))
    note, summary = job.events
    assert_clear(note, OPENAI_FAULTS[fault].phrase)
    assert "TF-IDF" in note
    assert "tf" in summary.lower()
    assert fake.pending_faults == 0
    # Asking the trained model while embeddings still fail: answered, retrieving with TF-IDF.
    assert job.model is not None
    await bot.say(f"!use {job.model}")
    OPENAI_FAULTS[fault].inject(fake, "/embeddings")
    answer = await bot.say("What is 3 plus 3?")
    assert not answer.startswith("error:"), answer
    assert len(bot.interactions()) == 1


# --- text to speech ----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_an_online_voice_that_fails_falls_back_to_espeak(
    fake: FakeOpenAI, make_bot: Any, fault: str
) -> None:
    voice = InMemoryVoiceOutput()
    bot = make_bot(tts_engine="openai", voice=voice)
    OPENAI_FAULTS[fault].inject(fake, "/audio/speech")

    result = await bounded(
        bot.container.speak_reply().execute(SpeakRequest(text="Hello there.", target="g1"))
    )

    assert result.sentences == 1
    [clip] = voice.queued["g1"]
    assert clip.data
    assert not clip.filename.endswith(".ogg"), "espeak spoke, not the server"


@pytest.mark.parametrize("fault", list(OPENAI_FAULTS))
async def test_an_online_voice_that_fails_without_fallback_says_why(
    fake: FakeOpenAI, make_bot: Any, fault: str
) -> None:
    voice = InMemoryVoiceOutput()
    bot = make_bot(tts_engine="openai", tts_fallback="none", voice=voice)
    OPENAI_FAULTS[fault].inject(fake, "/audio/speech")

    with pytest.raises(TrainerbotError) as caught:
        await bounded(
            bot.container.speak_reply().execute(SpeakRequest(text="Hello there.", target="g1"))
        )

    assert_clear(str(caught.value), OPENAI_FAULTS[fault].phrase)
    assert voice.queued == {}, "nothing was played"


# --- speech to text: the recognizer and ffmpeg ---------------------------------------------------


class ExplodingEngine(RecognitionEngine):
    """A recognizer that fails as third-party code does: an unexpected exception with internals."""

    def recognize(self, audio: Any, language: str) -> str:
        raise RuntimeError(f"segfault-ish failure in libfoo with key {API_KEY} at 0xdeadbeef")


async def transcribe_both_ways(bot: Bot, voice_message: AudioClip) -> list[str]:
    """What the user is told for ``!transcribe`` of a workspace file and for a voice message."""
    said = [await bot.say("!transcribe audio/clip.wav")]
    request = TranscribeRequest(audio=voice_message)
    with pytest.raises(TrainerbotError) as caught:
        await bounded(bot.container.use_cases().transcribe_voice.execute(request))
    said.append(f"error: {caught.value}")
    return said


async def test_a_recognizer_that_raises_is_one_clear_line(
    make_bot: Any, voice_message: AudioClip
) -> None:
    broken = SpeechRecognitionSpeechToText(ExplodingEngine(), max_workers=1, name="broken")
    bot = make_bot(stt=broken)
    try:
        said = await transcribe_both_ways(bot, voice_message)
    finally:
        broken.close()

    for reply in said:
        assert_error_reply(reply, "Speech recognition failed")
        assert "libfoo" not in reply


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# (what ffmpeg does, the words the user reads)
BROKEN_FFMPEG = {
    "missing": (None, "ffmpeg was not found"),
    "exits-1": ("cat >/dev/null; echo 'Invalid data found' >&2; exit 1", "not audio I can read"),
    "sigsegv": ("kill -SEGV $$", "crashed"),
    "hangs": ("exec sleep 30", "took too long"),
}


@pytest.mark.parametrize("kind", list(BROKEN_FFMPEG))
async def test_a_broken_ffmpeg_is_one_clear_line(
    fake: FakeOpenAI, make_bot: Any, voice_message: AudioClip, tmp_path: Path, kind: str
) -> None:
    body, phrase = BROKEN_FFMPEG[kind]
    ffmpeg = tmp_path / "bin" / "ffmpeg"
    if body is not None:
        script(ffmpeg, body)
    bot = make_bot(ffmpeg_path=ffmpeg)
    # The production bound is 30 s; a short one keeps the test short (the rule is the same).
    bot.container.audio_converter().timeout = 0.5

    said = await transcribe_both_ways(bot, voice_message)

    for reply in said:
        assert_error_reply(reply, phrase)
        assert str(tmp_path) not in reply, "no host path"
    assert fake.requests_to("/audio/transcriptions") == [], "nothing undecoded is recognised"
