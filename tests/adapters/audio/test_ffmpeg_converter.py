"""FfmpegAudioConverter on real audio with the real ffmpeg: every container, every bad input,
the decoding cap and the size cap, the process limit, timeouts and cancellation. (Whether a
decoded recording is too long is core's rule: tests/unit/test_transcribe_voice.py, and on real
audio tests/adapters/audio/test_transcribe_end_to_end.py.)"""

from __future__ import annotations

import array
import asyncio
import os
import signal
import stat
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from audio_fixtures import FORMAT_OPTIONS, TOO_LONG_LIMIT, AudioFixtures, wav_duration

from trainerbot.adapters.audio import ogg
from trainerbot.adapters.audio.ffmpeg import (
    LENGTH_MARGIN_SECONDS,
    FfmpegAudioConverter,
    resolve_ffmpeg,
)
from trainerbot.core.entities import AudioClip, PcmAudio
from trainerbot.core.errors import (
    AudioTooLarge,
    AudioTooLong,
    CapabilityUnavailable,
    EmptyAudio,
    ServiceError,
    TrainerbotError,
    UndecodableAudio,
)
from trainerbot.ports import AudioConverter

FORMATS = ["wav", *FORMAT_OPTIONS]

if TYPE_CHECKING:
    from conftest import LoopWatch


def clip_of(path: Path) -> AudioClip:
    return AudioClip(data=path.read_bytes(), filename=path.name)


def peak(pcm: PcmAudio) -> int:
    samples = array.array("h", pcm.samples)
    return max((abs(sample) for sample in samples), default=0)


def assert_one_clear_line(error: TrainerbotError) -> None:
    """A message a user can be shown: one sentence, no traceback, no host path."""
    message = str(error)
    assert message
    assert "\n" not in message
    assert "Traceback" not in message
    assert "/" not in message.replace("m4a/mp4", "")
    assert error.__cause__ is None


class ProcessSpy:
    """Wraps asyncio.create_subprocess_exec: counts the processes started and alive at once."""

    def __init__(self) -> None:
        self.started: list[asyncio.subprocess.Process] = []
        self.alive = 0
        self.peak = 0
        self.spawned = asyncio.Event()
        self.changed = asyncio.Condition()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = asyncio.create_subprocess_exec

        async def spawn(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            process = await real(*args, **kwargs)
            self.started.append(process)
            self.alive += 1
            self.peak = max(self.peak, self.alive)
            self.spawned.set()
            async with self.changed:
                self.changed.notify_all()
            original_wait = process.wait

            async def wait() -> int:
                try:
                    return await original_wait()
                finally:
                    if not getattr(process, "_counted_out", False):
                        process._counted_out = True  # type: ignore[attr-defined]
                        self.alive -= 1

            process.wait = wait  # type: ignore[method-assign]
            return process

        monkeypatch.setattr(asyncio, "create_subprocess_exec", spawn)

    async def wait_for_started(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.started) >= count)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> ProcessSpy:
    process_spy = ProcessSpy()
    process_spy.install(monkeypatch)
    return process_spy


@pytest.fixture
def sleeping_ffmpeg(tmp_path: Path) -> str:
    """A stand-in "ffmpeg" that never answers: for timeouts and cancellation."""
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\nexec sleep 30\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- every container ------------------------------------------------------------------------


def test_the_converter_is_an_audio_converter(converter: FfmpegAudioConverter) -> None:
    assert isinstance(converter, AudioConverter)


@pytest.mark.parametrize("extension", FORMATS)
async def test_each_format_becomes_16khz_mono_pcm_as_long_as_the_source(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures, extension: str
) -> None:
    source_seconds = wav_duration(audio_fixtures.formats["wav"])

    pcm = await converter.to_pcm(clip_of(audio_fixtures.formats[extension]))

    assert pcm.sample_rate == 16_000
    assert len(pcm.samples) % 2 == 0
    # Stereo or the wrong rate would double or stretch the duration.
    assert pcm.duration_seconds == pytest.approx(source_seconds, abs=0.1)
    assert peak(pcm) > 3_000, "speech, not silence"


async def test_a_discord_voice_message_decodes(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    pcm = await converter.to_pcm(
        AudioClip(
            data=audio_fixtures.voice_message.read_bytes(),
            filename="voice-message.ogg",
            content_type="audio/ogg",
        )
    )

    assert pcm.duration_seconds == pytest.approx(
        wav_duration(audio_fixtures.formats["wav"]), abs=0.1
    )
    assert peak(pcm) > 3_000


async def test_the_output_rate_is_configurable(audio_fixtures: AudioFixtures) -> None:
    sut = FfmpegAudioConverter(sample_rate=8_000)

    pcm = await sut.to_pcm(clip_of(audio_fixtures.voice_message))

    assert pcm.sample_rate == 8_000
    assert len(pcm.samples) == pytest.approx(
        2 * 8_000 * wav_duration(audio_fixtures.formats["wav"]), abs=2 * 800
    )


async def test_silence_is_audio_not_an_error(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    # Hearing nothing is TranscribeVoice's normal "heard nothing" result, not a decoding error.
    pcm = await converter.to_pcm(clip_of(audio_fixtures.silence))

    assert pcm.duration_seconds == pytest.approx(0.2, abs=0.01)
    assert peak(pcm) == 0


# --- bad inputs -----------------------------------------------------------------------------


async def test_an_empty_file_is_empty_audio(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    with pytest.raises(EmptyAudio) as caught:
        await converter.to_pcm(clip_of(audio_fixtures.empty))

    assert str(caught.value) == "That audio file is empty."
    assert spy.started == []


async def test_random_bytes_named_ogg_are_not_audio(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    with pytest.raises(UndecodableAudio) as caught:
        await converter.to_pcm(clip_of(audio_fixtures.random_ogg))

    assert str(caught.value) == "That attachment is not audio I can read."
    assert_one_clear_line(caught.value)


async def test_a_truncated_ogg_is_refused_not_heard_as_a_shorter_recording(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    with pytest.raises(UndecodableAudio) as caught:
        await converter.to_pcm(clip_of(audio_fixtures.truncated_ogg))

    assert str(caught.value) == "That recording is cut off before its end; send it again."
    assert_one_clear_line(caught.value)


async def test_an_ogg_cut_before_its_first_audio_page_is_not_audio(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    message = audio_fixtures.voice_message.read_bytes()
    # Cut exactly at a page boundary, so only ffmpeg can tell: it finds no audio at all.
    first_pages = message[: message.index(b"OggS", message.index(b"OpusTags"))]
    assert not ogg.cut_short(first_pages)

    with pytest.raises(UndecodableAudio) as caught:
        await converter.to_pcm(AudioClip(data=first_pages, filename="voice-message.ogg"))

    assert str(caught.value) == "That attachment is not audio I can read."


async def test_an_m4a_with_its_index_at_the_end_is_refused_with_advice(
    converter: FfmpegAudioConverter, audio_fixtures: AudioFixtures
) -> None:
    # ffmpeg needs to seek back to the audio once it finds the index: a pipe cannot.
    with pytest.raises(UndecodableAudio) as caught:
        await converter.to_pcm(clip_of(audio_fixtures.m4a_index_at_end))

    assert str(caught.value) == (
        "I cannot read that m4a/mp4 recording (its index is at the end of the file); "
        "send it as ogg, mp3 or wav instead."
    )
    assert_one_clear_line(caught.value)


async def test_ffmpeg_s_complaint_goes_to_the_debug_log_only(
    converter: FfmpegAudioConverter,
    audio_fixtures: AudioFixtures,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level("DEBUG", logger="trainerbot.adapters.audio.ffmpeg"),
        pytest.raises(UndecodableAudio),
    ):
        await converter.to_pcm(clip_of(audio_fixtures.random_ogg))

    assert [record.levelname for record in caplog.records] == ["DEBUG"]
    assert "random.ogg" in caplog.records[0].getMessage()
    assert "Invalid data" in caplog.records[0].getMessage()


# --- the caps ----------------------------------------------------------------------------------


async def test_a_recording_far_over_the_decoding_cap_is_cut_off_and_too_long(
    audio_fixtures: AudioFixtures,
) -> None:
    sut = FfmpegAudioConverter(max_seconds=TOO_LONG_LIMIT)

    with pytest.raises(AudioTooLong) as caught:
        await sut.to_pcm(clip_of(audio_fixtures.too_long))

    # ffmpeg stops a second past the cap, so the true length is only known to exceed that.
    cut_at = TOO_LONG_LIMIT + LENGTH_MARGIN_SECONDS
    assert str(caught.value) == (
        f"That recording is longer than {cut_at:g} s; the limit is {TOO_LONG_LIMIT:g} s."
    )


async def test_a_recording_within_the_margin_past_the_cap_is_decoded_whole(
    audio_fixtures: AudioFixtures,
) -> None:
    # Judging its length is the use case's rule; the converter reports the whole of it.
    seconds = wav_duration(audio_fixtures.formats["wav"])
    sut = FfmpegAudioConverter(max_seconds=1.5)
    assert 1.6 < seconds < 1.5 + LENGTH_MARGIN_SECONDS - 0.1

    pcm = await sut.to_pcm(clip_of(audio_fixtures.formats["wav"]))

    assert pcm.duration_seconds == pytest.approx(seconds, abs=0.01)


async def test_a_recording_exactly_at_the_limit_is_accepted(audio_fixtures: AudioFixtures) -> None:
    seconds = wav_duration(audio_fixtures.formats["wav"])
    sut = FfmpegAudioConverter(max_seconds=seconds)

    pcm = await sut.to_pcm(clip_of(audio_fixtures.formats["mp3"]))

    assert pcm.duration_seconds == pytest.approx(seconds, abs=0.1)


async def test_a_file_over_the_byte_limit_is_refused_before_ffmpeg_starts(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    sut = FfmpegAudioConverter(max_bytes=1_000)
    clip = clip_of(audio_fixtures.voice_message)

    with pytest.raises(AudioTooLarge) as caught:
        await sut.to_pcm(clip)

    size = f"{clip.size / 1024:.1f} KB"
    assert str(caught.value) == f"That audio file is {size}; the limit is 1000 bytes."
    assert spy.started == []


# --- which ffmpeg -----------------------------------------------------------------------------


def test_without_configuration_ffmpeg_is_the_imageio_binary() -> None:
    import imageio_ffmpeg

    assert resolve_ffmpeg() == imageio_ffmpeg.get_ffmpeg_exe()
    assert resolve_ffmpeg("") == imageio_ffmpeg.get_ffmpeg_exe()


def test_a_configured_ffmpeg_is_used(ffmpeg_path: str, tmp_path: Path) -> None:
    link = tmp_path / "my-ffmpeg"
    link.symlink_to(ffmpeg_path)

    assert resolve_ffmpeg(link) == str(link)


@pytest.mark.parametrize(
    ("configured", "named"),
    [
        ("missing/nowhere-ffmpeg", "nowhere-ffmpeg"),
        ("not-on-path-ffmpeg-xyz", "not-on-path-ffmpeg-xyz"),
    ],
)
def test_a_configured_ffmpeg_that_is_missing_is_unavailable(
    tmp_path: Path, configured: str, named: str
) -> None:
    path = str(tmp_path / configured) if "/" in configured else configured

    with pytest.raises(CapabilityUnavailable) as caught:
        resolve_ffmpeg(path)

    assert str(caught.value) == f"ffmpeg was not found at {named}; fix TRAINERBOT_FFMPEG_PATH"
    assert str(tmp_path) not in str(caught.value)


def test_a_configured_ffmpeg_that_is_not_executable_is_unavailable(tmp_path: Path) -> None:
    plain = tmp_path / "ffmpeg"
    plain.write_bytes(b"")

    with pytest.raises(CapabilityUnavailable, match=r"^ffmpeg was not found at ffmpeg;"):
        resolve_ffmpeg(plain)


async def test_the_converter_with_a_missing_ffmpeg_is_unavailable(
    tmp_path: Path, audio_fixtures: AudioFixtures
) -> None:
    sut = FfmpegAudioConverter(ffmpeg=str(tmp_path / "bin" / "ffmpeg"))

    with pytest.raises(CapabilityUnavailable) as caught:
        await sut.to_pcm(clip_of(audio_fixtures.voice_message))

    assert str(caught.value) == "ffmpeg was not found at ffmpeg; fix TRAINERBOT_FFMPEG_PATH"


async def test_an_ffmpeg_that_cannot_run_is_unavailable(
    tmp_path: Path, audio_fixtures: AudioFixtures
) -> None:
    not_a_program = tmp_path / "ffmpeg"
    not_a_program.write_bytes(b"\x7fELF but not really")
    not_a_program.chmod(0o755)
    sut = FfmpegAudioConverter(ffmpeg=str(not_a_program))

    with pytest.raises(CapabilityUnavailable) as caught:
        await sut.to_pcm(clip_of(audio_fixtures.voice_message))

    assert str(caught.value) == (
        "ffmpeg could not be started (ffmpeg); "
        "fix TRAINERBOT_FFMPEG_PATH or reinstall imageio-ffmpeg"
    )


# --- processes --------------------------------------------------------------------------------


async def test_no_more_than_max_processes_ffmpeg_run_at_once(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    sut = FfmpegAudioConverter(max_processes=2)
    clip = clip_of(audio_fixtures.too_long)

    results = await asyncio.gather(*(sut.to_pcm(clip) for _ in range(8)))

    assert len(spy.started) == 8
    assert spy.peak == 2
    assert spy.alive == 0
    assert len({pcm.samples for pcm in results}) == 1


@pytest.mark.parametrize("message", ["voice_message", "long_voice_message"])
async def test_a_timeout_kills_ffmpeg_and_says_so(
    sleeping_ffmpeg: str, audio_fixtures: AudioFixtures, spy: ProcessSpy, message: str
) -> None:
    sut = FfmpegAudioConverter(ffmpeg=sleeping_ffmpeg, timeout=0.3)

    with pytest.raises(ServiceError) as caught:
        await sut.to_pcm(clip_of(getattr(audio_fixtures, message)))

    assert str(caught.value) == "Decoding that audio took too long; try a shorter recording."
    assert len(spy.started) == (2 if message == "long_voice_message" else 1)  # pieces: two
    for process in spy.started:
        assert process.returncode == -signal.SIGKILL
        assert gone(process.pid)


@pytest.mark.parametrize("message", ["voice_message", "long_voice_message"])
async def test_cancelling_a_conversion_kills_its_ffmpeg(
    sleeping_ffmpeg: str, audio_fixtures: AudioFixtures, spy: ProcessSpy, message: str
) -> None:
    sut = FfmpegAudioConverter(ffmpeg=sleeping_ffmpeg)
    task = asyncio.create_task(sut.to_pcm(clip_of(getattr(audio_fixtures, message))))
    await asyncio.wait_for(spy.spawned.wait(), 5)
    await asyncio.sleep(0.1)  # long enough for a second piece's ffmpeg to start, if any

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert spy.started
    for process in spy.started:
        assert process.returncode == -signal.SIGKILL
        assert gone(process.pid)


@pytest.mark.parametrize("message", ["too_long", "long_voice_message"])
async def test_conversions_leave_the_event_loop_free(
    audio_fixtures: AudioFixtures, event_loop_watch: type[LoopWatch], message: str
) -> None:
    sut = FfmpegAudioConverter()
    clip = clip_of(getattr(audio_fixtures, message))

    async with event_loop_watch(tick=0.005) as watch:
        await asyncio.gather(*(sut.to_pcm(clip) for _ in range(6)))

    assert watch.ticks > 0
    assert watch.max_gap < 0.25


def test_one_converter_serves_successive_event_loops(audio_fixtures: AudioFixtures) -> None:
    sut = FfmpegAudioConverter()
    clip = clip_of(audio_fixtures.voice_message)

    first = asyncio.run(sut.to_pcm(clip))
    second = asyncio.run(sut.to_pcm(clip))

    assert first == second


# --- long voice messages: decoded in pieces side by side -------------------------------------


def largest_difference(first: bytes, second: bytes) -> int:
    pairs = zip(array.array("h", first), array.array("h", second), strict=True)
    return max(abs(a - b) for a, b in pairs)


async def test_a_long_voice_message_is_decoded_in_pieces_to_the_same_audio(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    clip = clip_of(audio_fixtures.long_voice_message)
    whole = await FfmpegAudioConverter(max_pieces=1).to_pcm(clip)
    assert len(spy.started) == 1

    in_pieces = await FfmpegAudioConverter(max_pieces=2).to_pcm(clip)

    assert len(spy.started) == 3
    assert spy.peak == 2
    assert len(in_pieces.samples) == len(whole.samples)
    # Where the pieces meet, the resampler's edges differ by a hair; everywhere else, nothing.
    assert largest_difference(in_pieces.samples, whole.samples) < 0.02 * 32_768


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
async def test_each_piece_s_ffmpeg_gets_a_core_of_its_own(
    sleeping_ffmpeg: str, audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    sut = FfmpegAudioConverter(ffmpeg=sleeping_ffmpeg, max_pieces=2, timeout=5)
    task = asyncio.create_task(sut.to_pcm(clip_of(audio_fixtures.long_voice_message)))
    await asyncio.wait_for(spy.wait_for_started(2), 5)

    cores = [os.sched_getaffinity(process.pid) for process in spy.started]

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert all(len(core) == 1 for core in cores)
    assert cores[0] != cores[1]
    assert len(os.sched_getaffinity(0)) >= 2  # the bot itself is left to run anywhere


async def test_a_short_voice_message_is_decoded_whole(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    await FfmpegAudioConverter(max_pieces=4).to_pcm(clip_of(audio_fixtures.too_long))

    assert len(spy.started) == 1  # 8 s: a second process would cost more than it saves


async def test_a_busy_converter_decodes_in_fewer_pieces_within_its_process_limit(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    sut = FfmpegAudioConverter(max_processes=3, max_pieces=2)
    clip = clip_of(audio_fixtures.long_voice_message)

    results = await asyncio.gather(*(sut.to_pcm(clip) for _ in range(4)))

    assert spy.peak <= 3
    assert 4 < len(spy.started) < 8  # some messages found a second slot free, some did not
    assert len({len(pcm.samples) for pcm in results}) == 1


async def test_pieces_that_do_not_decode_as_their_pages_promise_give_way_to_one_process(
    audio_fixtures: AudioFixtures, spy: ProcessSpy
) -> None:
    # The pages from the tenth on claim a second more audio than they hold: the pieces come
    # out shorter than promised, so the message is decoded again, whole.
    stream = list(ogg.pages(audio_fixtures.long_voice_message.read_bytes()))
    lying = b"".join(
        page.raw if index < 10 else replace(page, granule=page.granule + 48_000).to_bytes()
        for index, page in enumerate(stream)
    )
    clip = AudioClip(lying, "lying.ogg", "audio/ogg")
    expected = await FfmpegAudioConverter(max_pieces=1).to_pcm(clip)

    result = await FfmpegAudioConverter(max_pieces=2).to_pcm(clip)

    assert len(spy.started) == 1 + 3  # the whole decode above; two pieces, then whole again
    assert result == expected


# --- sanity of the error contract -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "make"),
    [
        ("empty", FfmpegAudioConverter),
        ("random_ogg", FfmpegAudioConverter),
        ("truncated_ogg", FfmpegAudioConverter),
        ("m4a_index_at_end", FfmpegAudioConverter),
        ("too_long", lambda: FfmpegAudioConverter(max_seconds=TOO_LONG_LIMIT)),
        ("voice_message", lambda: FfmpegAudioConverter(max_bytes=100)),
    ],
)
async def test_every_bad_input_is_one_clear_line(
    audio_fixtures: AudioFixtures, fixture: str, make: Callable[[], FfmpegAudioConverter]
) -> None:
    with pytest.raises(TrainerbotError) as caught:
        await make().to_pcm(clip_of(getattr(audio_fixtures, fixture)))

    assert_one_clear_line(caught.value)


def test_the_fixture_ffmpeg_really_is_ffmpeg(ffmpeg_path: str) -> None:
    version = subprocess.run([ffmpeg_path, "-version"], capture_output=True, check=True)
    assert version.stdout.startswith(b"ffmpeg version")
