"""A voice message in the workspace, transcribed through the whole offline stack from the console."""

import re
import shutil
from pathlib import Path

from audio_fixtures import FORMAT_SENTENCE, KEYWORDS, AudioFixtures

from trainerbot.adapters.console import Console
from trainerbot.config import Settings
from trainerbot.container import create_container


async def test_transcribe_hears_a_discord_voice_message_offline(
    audio_fixtures: AudioFixtures, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    (workspace / "voice").mkdir(parents=True)
    shutil.copy(audio_fixtures.voice_message, workspace / "voice" / "message.ogg")
    # No key, no base URL: the defaults are the offline engines (ffmpeg, Whisper, espeak).
    container = create_container(Settings(workspace=workspace))
    sut = Console(container.use_cases())

    reply = await sut.handle("!transcribe voice/message.ogg")

    assert reply.startswith("Heard ("), reply
    assert container.speech_to_text().name == "faster_whisper"  # not fallen back to sphinx
    heard = set(re.sub(r"[^\w\s]", " ", reply.lower()).split())
    # Whisper hears synthetic speech word for word: every keyword.
    assert set(KEYWORDS[FORMAT_SENTENCE]) <= heard, reply


async def test_transcribe_refuses_a_file_that_is_not_audio(
    audio_fixtures: AudioFixtures, tmp_path: Path
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    shutil.copy(audio_fixtures.random_ogg, workspace / "noise.ogg")
    sut = Console(create_container(Settings(workspace=workspace)).use_cases())

    assert await sut.handle("!transcribe noise.ogg") == (
        "error: That attachment is not audio I can read."
    )
