"""GoogleEngine through the adapter, against a local stand-in for Google's web speech API.

``Recognizer.recognize_google`` (SpeechRecognition 3.17) takes an ``endpoint`` keyword, so the
real library code runs — FLAC encoding, the request, parsing Google's answer — against a server
on 127.0.0.1 that answers in Google's format. Nothing reaches the internet.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from trainerbot.adapters.audio.google import GoogleEngine
from trainerbot.adapters.audio.recognition import SpeechRecognitionSpeechToText
from trainerbot.core.entities import PcmAudio
from trainerbot.core.errors import ServiceError


@dataclass
class Heard:
    """One request the fake received."""

    query: dict[str, list[str]]
    content_type: str
    body: bytes


@dataclass
class FakeGoogleSpeech:
    """Answers POST /speech-api/v2/recognize as Google does: one JSON object a line, the first
    often an empty result. ``status``, ``body`` and ``delay`` script the next answers."""

    transcript: str = "hello from the fake"
    status: int = 200
    body: str | None = None
    delay: float = 0.0
    heard: list[Heard] = field(default_factory=list)

    def answer(self) -> str:
        if self.body is not None:
            return self.body
        result = {
            "result": [
                {
                    "alternative": [
                        {"transcript": self.transcript, "confidence": 0.92},
                        {"transcript": self.transcript.upper()},
                    ],
                    "final": True,
                }
            ],
            "result_index": 0,
        }
        return '{"result":[]}\n' + json.dumps(result) + "\n"


@pytest.fixture
def google() -> Iterator[tuple[FakeGoogleSpeech, str]]:
    """The fake and its endpoint URL."""
    fake = FakeGoogleSpeech()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            fake.heard.append(
                Heard(
                    query=parse_qs(urlsplit(self.path).query),
                    content_type=self.headers.get("Content-Type", ""),
                    body=body,
                )
            )
            time.sleep(fake.delay)
            payload = fake.answer().encode()
            try:
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up waiting (the timeout test)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_port}/speech-api/v2/recognize"
    finally:
        server.shutdown()
        server.server_close()


def tone(seconds: float = 1.0, rate: int = 16_000) -> PcmAudio:
    """A 440 Hz tone: the fake does not listen, but the FLAC encoder gets real samples."""
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    return PcmAudio(samples=samples, sample_rate=rate)


def adapter(engine: GoogleEngine) -> SpeechRecognitionSpeechToText:
    return SpeechRecognitionSpeechToText(engine, max_workers=2, name="google")


async def test_recognises_through_google_in_the_requested_language(
    google: tuple[FakeGoogleSpeech, str],
) -> None:
    fake, endpoint = google
    sut = adapter(GoogleEngine(endpoint=endpoint))
    try:
        transcript = await sut.transcribe(tone(), language="ru-RU")
    finally:
        sut.close()

    assert transcript.text == "hello from the fake"
    assert (transcript.language, transcript.engine) == ("ru-RU", "google")
    (request,) = fake.heard
    assert request.query["lang"] == ["ru-RU"]
    assert request.content_type == "audio/x-flac; rate=16000"
    assert request.body.startswith(b"fLaC")


async def test_google_hearing_nothing_is_an_empty_transcript(
    google: tuple[FakeGoogleSpeech, str],
) -> None:
    fake, endpoint = google
    fake.body = '{"result":[]}\n'
    sut = adapter(GoogleEngine(endpoint=endpoint))
    try:
        transcript = await sut.transcribe(tone(), language="en-US")
    finally:
        sut.close()

    assert transcript.text == ""
    assert not transcript.heard_anything


async def test_a_configured_key_is_sent_and_never_shown(
    google: tuple[FakeGoogleSpeech, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, endpoint = google
    fake.status = 403
    sut = adapter(GoogleEngine(endpoint=endpoint, key="AIza-secret-key-123"))
    try:
        with pytest.raises(ServiceError) as raised:
            await sut.transcribe(tone(), language="en-US")
    finally:
        sut.close()

    assert fake.heard[0].query["key"] == ["AIza-secret-key-123"]
    assert "secret" not in str(raised.value)
    assert "secret" not in caplog.text


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, "oops", "Google speech recognition failed (HTTP 500)"),
        (200, "<html>not json</html>", "sent an answer I could not read"),
        (200, '{"unexpected": true}', "sent an answer I could not read"),
    ],
)
async def test_a_failing_google_is_one_service_error_sentence(
    google: tuple[FakeGoogleSpeech, str], status: int, body: str, expected: str
) -> None:
    fake, endpoint = google
    fake.status, fake.body = status, body
    sut = adapter(GoogleEngine(endpoint=endpoint))
    try:
        with pytest.raises(ServiceError, match=r"^Google speech recognition") as raised:
            await sut.transcribe(tone(), language="en-US")
    finally:
        sut.close()

    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


async def test_a_google_that_does_not_answer_in_time_is_a_service_error(
    google: tuple[FakeGoogleSpeech, str],
) -> None:
    fake, endpoint = google
    fake.delay = 1.0
    sut = adapter(GoogleEngine(endpoint=endpoint, timeout=0.2))
    try:
        with pytest.raises(ServiceError, match="did not answer in time"):
            await sut.transcribe(tone(), language="en-US")
    finally:
        sut.close()


async def test_an_unreachable_google_is_a_service_error() -> None:
    # A port nobody listens on: the connection is refused, as with no network at all.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sut = adapter(GoogleEngine(endpoint=f"http://127.0.0.1:{port}/speech-api/v2/recognize"))
    try:
        with pytest.raises(ServiceError, match="could not be reached"):
            await sut.transcribe(tone(), language="en-US")
    finally:
        sut.close()


async def test_the_real_google_without_network_is_a_service_error() -> None:
    # pytest-socket lets tests connect to 127.0.0.1 only: Google's own endpoint is unreachable.
    sut = adapter(GoogleEngine(timeout=2.0))
    try:
        with pytest.raises(ServiceError):
            await sut.transcribe(tone(0.3), language="en-US")
    finally:
        sut.close()
