"""What a voice channel plays: synthesised speech as an Opus source that ffmpeg encodes.

``discord.FFmpegOpusAudio`` lets ffmpeg (the imageio-ffmpeg binary has libopus) produce the Opus
packets, so playback needs no system libopus; ``FFmpegPCMAudio`` would need it, and is avoided.
The clip's bytes go to ffmpeg through a pipe: nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import threading
from pathlib import Path

import discord

from trainerbot.core.entities import AudioClip
from trainerbot.core.errors import CapabilityUnavailable

log = logging.getLogger(__name__)

# Speech needs far less than discord.py's default of 128 kbps; 64 kbps is a voice channel's default.
SPEECH_BITRATE_KBPS = 64

# The identification and comment headers of an Ogg Opus stream: discord.py's Ogg reader returns
# them as if they were audio packets.
OPUS_HEADER_MAGICS = (b"OpusHead", b"OpusTags")

REAP_TIMEOUT_SECONDS = 2.0


class SpeechOpusAudio(discord.FFmpegOpusAudio):
    """``FFmpegOpusAudio`` whose ``read()`` returns audio packets only.

    discord.py 2.7 passes the Ogg stream's two header packets (``OpusHead``, ``OpusTags``) to
    the voice connection as if they were 20 ms of audio; they are dropped here, so every packet
    read is one 20 ms Opus frame.
    """

    def __init__(self, source: io.BufferedIOBase, *, executable: str, bitrate: int) -> None:
        super().__init__(
            source,
            pipe=True,
            executable=executable,
            bitrate=bitrate,
            before_options="-hide_banner",
            # Later options win: ffmpeg keeps quiet unless something fails, instead of
            # discord.py's "warning" level in the bot's console.
            options="-loglevel error",
        )
        self._headers_pending = True

    def cleanup(self) -> None:
        # discord.py kills ffmpeg but neither always waits for it nor closes its pipes, leaving
        # an unreaped child and open file descriptors behind each reply.
        # getattr: __del__ calls cleanup() too, also on a source whose __init__ failed.
        process: object = getattr(self, "_process", None)
        writer: threading.Thread | None = getattr(self, "_pipe_writer_thread", None)
        super().cleanup()
        if not isinstance(process, subprocess.Popen):
            return
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            process.wait(timeout=REAP_TIMEOUT_SECONDS)  # killed: this takes milliseconds
        if writer is not None:
            # ffmpeg is gone, so the thread feeding its stdin stops at its next write.
            writer.join(timeout=REAP_TIMEOUT_SECONDS)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def read(self) -> bytes:
        packet = super().read()
        while self._headers_pending and packet.startswith(OPUS_HEADER_MAGICS):
            packet = super().read()
        self._headers_pending = False
        return packet


def opus_source(
    clip: AudioClip, *, ffmpeg: str, bitrate: int = SPEECH_BITRATE_KBPS
) -> discord.FFmpegOpusAudio:
    """An audio source for ``VoiceClient.play`` that ffmpeg encodes to 48 kHz stereo Opus in
    20 ms packets, from any clip ffmpeg reads (WAV from espeak, MP3 from gTTS, Ogg/Opus...).

    The clip is always re-encoded, even when it is Ogg/Opus already. discord.py's
    ``codec="copy"`` works on a pipe, but it keeps the producer's frame size, and discord.py
    sends one packet every 20 ms: a file with 60 ms frames (Opus allows 2.5 to 120 ms) gave 51
    packets for 3 s instead of 150 and would play three times too fast. Encoding a spoken reply
    costs a few tens of milliseconds.

    Building the source starts ffmpeg with ``subprocess.Popen`` (a fork, a few milliseconds);
    ``read()`` blocks on ffmpeg's output and is meant for discord.py's player thread. Call
    ``cleanup()`` (the player does, when playback ends) to stop ffmpeg. A missing ffmpeg is
    ``CapabilityUnavailable``; a clip ffmpeg cannot read simply plays nothing.
    """
    try:
        return SpeechOpusAudio(io.BytesIO(clip.data), executable=ffmpeg, bitrate=bitrate)
    except discord.ClientException as error:  # ffmpeg missing or not startable
        log.warning("ffmpeg could not be started for playback: %s", error)
        raise CapabilityUnavailable(
            f"ffmpeg could not be started ({Path(ffmpeg).name}) to play speech; "
            "fix TRAINERBOT_FFMPEG_PATH or reinstall imageio-ffmpeg"
        ) from None
