"""Fixtures for the audio adapter tests: real speech made once per session, a real converter."""

from __future__ import annotations

import pytest
from audio_fixtures import AudioFixtures, make_fixtures

from trainerbot.adapters.audio.ffmpeg import FfmpegAudioConverter, resolve_ffmpeg


@pytest.fixture(scope="session")
def ffmpeg_path() -> str:
    """The ffmpeg the converter uses by default: the imageio-ffmpeg binary."""
    return resolve_ffmpeg()


@pytest.fixture(scope="session")
def audio_fixtures(tmp_path_factory: pytest.TempPathFactory, ffmpeg_path: str) -> AudioFixtures:
    """Speech in every supported container and the bad inputs, written once per test session."""
    return make_fixtures(tmp_path_factory.mktemp("audio"), ffmpeg=ffmpeg_path)


@pytest.fixture
def converter() -> FfmpegAudioConverter:
    """A converter with the production defaults (16 kHz, 25 MB, 300 s, 30 s timeout)."""
    return FfmpegAudioConverter()
