"""A voice connection for tests: dpytest's ``FakeVoiceClient``, recording what it plays.

(A module of its own so the voice tests and the bot tests share it; see discord_support.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import discord.ext.test as dpytest
from discord.ext.test.voice import FakeVoiceClient
from discord.voice_state import ConnectionFlowState
from discord_support import Server, until

PACKET_SECONDS = 0.020


@dataclass
class Playback:
    """One ``play()``: the packets read and when reading started and ended (perf_counter)."""

    started: float
    packets: list[bytes] = field(default_factory=list)
    ended: float | None = None
    error: Exception | None = None


class RecordingVoiceClient(FakeVoiceClient):
    """dpytest's voice client, playing into a list.

    ``PACE`` seconds pass between packets (discord.py's player waits 20 ms): enough for a clip to
    take a while, little enough to keep the tests short.
    """

    PACE = 0.002

    def __init__(self, client: discord.Client, channel: discord.abc.Connectable) -> None:
        super().__init__(client, channel)
        self.connects = 0
        self.moves: list[int] = []
        self.disconnected_at: float | None = None
        self.plays: list[Playback] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    async def connect(
        self,
        *,
        reconnect: bool,
        timeout: float,  # noqa: ASYNC109 -- discord.py's signature
        self_deaf: bool = False,
        self_mute: bool = False,
    ) -> None:
        # dpytest 0.7 sets self._connected, which discord.py 2.7 moved to the connection state.
        self.connects += 1
        self._connection.state = ConnectionFlowState.connected

    async def move_to(
        self,
        channel: discord.abc.Snowflake | None,
        *,
        timeout: float | None = 30.0,  # noqa: ASYNC109
    ) -> None:
        # discord.py would wait for the gateway to confirm the move; dpytest never does.
        assert isinstance(channel, discord.VoiceChannel)
        self.moves.append(channel.id)
        self.channel = channel

    async def disconnect(self, *, force: bool = False) -> None:
        # discord.py's path without waiting (30 s) for a gateway confirmation dpytest never sends:
        # stops playback and the socket reader thread, and unregisters from the bot's state.
        await self._connection.disconnect(force=force, wait=False)
        self.disconnected_at = time.perf_counter()

    def play(
        self,
        source: discord.AudioSource,
        *,
        after: Callable[[Exception | None], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self.is_connected():
            raise discord.ClientException("Not connected to voice.")
        if self.is_playing():
            raise discord.ClientException("Already playing audio.")
        playback = Playback(started=time.perf_counter())
        self.plays.append(playback)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, args=(source, playback, after), name="fake-player", daemon=True
        )
        self._thread.start()

    def _run(
        self,
        source: discord.AudioSource,
        playback: Playback,
        after: Callable[[Exception | None], Any] | None,
    ) -> None:
        try:
            while not self._stopping.is_set() and (packet := source.read()):
                playback.packets.append(packet)
                time.sleep(self.PACE)
        except Exception as error:
            playback.error = error
        finally:
            playback.ended = time.perf_counter()
            source.cleanup()
            if after is not None:
                after(playback.error)

    def is_playing(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def stop(self) -> None:
        self._stopping.set()

    def wait_played(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


class SlowVoiceClient(RecordingVoiceClient):
    """Plays in real time: 20 ms a packet, as Discord does."""

    PACE = PACKET_SECONDS


class TimingOutVoiceClient(RecordingVoiceClient):
    async def connect(
        self,
        *,
        reconnect: bool,
        timeout: float,  # noqa: ASYNC109 -- discord.py's signature
        self_deaf: bool = False,
        self_mute: bool = False,
    ) -> None:
        raise TimeoutError


def enter(server: Server, member: discord.Member, channel: discord.VoiceChannel | None) -> None:
    """``member`` joins ``channel`` (or leaves voice with None), as the gateway reports it."""
    dpytest.backend.get_state().parse_voice_state_update(
        {
            "guild_id": str(server.guild.id),
            "channel_id": str(channel.id) if channel is not None else None,
            "user_id": str(member.id),
            "session_id": f"session-{member.id}",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
    )


async def played(server: Server, count: int = 1) -> list[Playback]:
    """The playbacks once ``count`` of them have ended."""

    def ended() -> bool:
        client = server.guild.voice_client
        return (
            isinstance(client, RecordingVoiceClient)
            and len(client.plays) >= count
            and all(play.ended is not None for play in client.plays)
        )

    await until(ended)
    client = server.guild.voice_client
    assert isinstance(client, RecordingVoiceClient)
    return client.plays
