"""GttsTextToSpeech against a local stand-in for Google Translate, and without any network.

gTTS always talks to ``https://translate.google.<tld>``: its host cannot be set. It does honour
the system's proxy settings (``HTTPS_PROXY``) and does not verify certificates, so the fake here is
an HTTPS proxy on 127.0.0.1 that accepts the tunnel to Google, speaks TLS itself (a throwaway
self-signed certificate) and answers gTTS's ``batchexecute`` request in Google's format. The real
gTTS code runs end to end: tokenising, the request body, the response parsing.
"""

from __future__ import annotations

import base64
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pytest

from trainerbot.adapters.audio.gtts import GttsTextToSpeech, gtts_voice
from trainerbot.core.errors import CapabilityUnavailable, InvalidInput, ServiceError

# A throwaway self-signed certificate for the fake (CN translate.google.com, EC P-256, valid
# until 2126). It protects nothing: gTTS does not verify certificates. Not a secret.
FAKE_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+TGMMOP9gvo/Y5cs
KbEndafGa816G0tP5T8Jim9bebShRANCAAS4OapZRw5iWSci5JRrRd6kgEv4Bvqz
ck7paOQcbP8JBVp3HYXz5jUEC2qIqDlJrhxnOTY56RIHeVzvteMdOEbd
-----END PRIVATE KEY-----
"""
FAKE_CERTIFICATE = """-----BEGIN CERTIFICATE-----
MIIBljCCATugAwIBAgIUR0SIFenlyg6+ncEDC0yT9W5y9BMwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUdHJhbnNsYXRlLmdvb2dsZS5jb20wIBcNMjYxMTIzMDA0ODQy
WhgPMjEyNjEwMzAwMDQ4NDJaMB8xHTAbBgNVBAMMFHRyYW5zbGF0ZS5nb29nbGUu
Y29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEuDmqWUcOYlknIuSUa0XepIBL
+Ab6s3JO6WjkHGz/CQVadx2F8+Y1BAtqiKg5Sa4cZzk2OekSB3lc77XjHThG3aNT
MFEwHQYDVR0OBBYEFHRlkgiMgqMhxL5Me8moMrONOzPdMB8GA1UdIwQYMBaAFHRl
kgiMgqMhxL5Me8moMrONOzPdMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAIBW+6xC1aoZg6+XllLpccQ7njsArKoMjSIrSJwxUajWAiEAlrKngaPJ
xiqPH40BO2cLHywLNIOOkokUSH0P8S6CQ6s=
-----END CERTIFICATE-----
"""

PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@dataclass(frozen=True)
class SpeechRequest:
    """What gTTS asked for: the Google host, and the text and language of one part."""

    host: str
    text: str
    lang: str


@dataclass
class FakeGoogleTranslate:
    """Google Translate's TTS RPC behind an HTTPS proxy; ``status`` scripts the answers."""

    status: int = 200
    requests: list[SpeechRequest] = field(default_factory=list)

    @staticmethod
    def audio_for(text: str) -> bytes:
        """The 'MP3' the fake returns for one part: recognisable bytes, not real audio."""
        return b"ID3" + text.encode()

    def handle(self, connection: socket.socket, context: ssl.SSLContext) -> None:
        tunnel = connection.makefile("rb")
        request_line = tunnel.readline().decode()  # CONNECT translate.google.<tld>:443 HTTP/1.1
        while tunnel.readline() not in (b"\r\n", b"\n", b""):
            pass
        host = request_line.split()[1].rsplit(":", 1)[0]
        connection.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with context.wrap_socket(connection, server_side=True) as tls:
            stream = tls.makefile("rb")
            stream.readline()  # POST /_/TranslateWebserverUi/data/batchexecute HTTP/1.1
            headers: dict[str, str] = {}
            while (line := stream.readline().decode().strip()) != "":
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers.get("content-length", "0"))).decode()
            # f.req=<url-quoted [[["jQ1olc", "<json [text, lang, speed, 'null']>", ...]]]>&
            rpc = json.loads(unquote(body.removeprefix("f.req=").rstrip("&")))
            text, lang, *_ = json.loads(rpc[0][0][1])
            self.requests.append(SpeechRequest(host=host, text=text, lang=lang))
            if self.status == 200:
                audio = base64.b64encode(self.audio_for(text)).decode()
                payload = (
                    ")]}'\n\n"
                    + '[["wrb.fr","jQ1olc","[\\"'
                    + audio
                    + '\\"]",null,null,null,"generic"],["di",42]]\n'
                ).encode()
                reason = "OK"
            else:
                payload, reason = b"error", "Scripted Failure"
            tls.sendall(
                f"HTTP/1.1 {self.status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def google_translate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_proxy: None
) -> Iterator[FakeGoogleTranslate]:
    """The fake, with HTTPS_PROXY pointing gTTS at it for this test."""
    (tmp_path / "key.pem").write_text(FAKE_KEY)
    (tmp_path / "cert.pem").write_text(FAKE_CERTIFICATE)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    fake = FakeGoogleTranslate()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            fake.handle(self.request, context)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sut() -> Iterator[GttsTextToSpeech]:
    tts = GttsTextToSpeech(timeout=5.0)
    try:
        yield tts
    finally:
        tts.close()


async def test_speaks_through_google_translate_as_mp3(
    google_translate: FakeGoogleTranslate, sut: GttsTextToSpeech
) -> None:
    clip = await sut.synthesize("Привет, как дела?", language="ru-RU")

    assert google_translate.requests == [
        SpeechRequest(host="translate.google.com", text="Привет, как дела?", lang="ru")
    ]
    assert clip.data == FakeGoogleTranslate.audio_for("Привет, как дела?")
    assert (clip.filename, clip.content_type) == ("speech.mp3", "audio/mpeg")


async def test_long_text_is_spoken_in_parts_joined_in_order(
    google_translate: FakeGoogleTranslate, sut: GttsTextToSpeech
) -> None:
    # gTTS sends at most 100 characters a request.
    sentences = [f"This is sentence number {n} of a rather long reply." for n in range(5)]

    clip = await sut.synthesize(" ".join(sentences), language="en-US")

    parts = [request.text for request in google_translate.requests]
    assert len(parts) > 1
    assert clip.data == b"".join(FakeGoogleTranslate.audio_for(part) for part in parts)


async def test_a_regional_accent_uses_that_countrys_google_host(
    google_translate: FakeGoogleTranslate, sut: GttsTextToSpeech
) -> None:
    await sut.synthesize("Good morning", language="en-GB")

    assert google_translate.requests == [
        SpeechRequest(host="translate.google.co.uk", text="Good morning", lang="en")
    ]


@pytest.mark.parametrize(
    ("language", "voice"),
    [
        ("en-US", ("en", "com")),
        ("en", ("en", "com")),
        ("ru-RU", ("ru", "com")),
        ("ru", ("ru", "com")),
        ("de_AT", ("de", "com")),
        ("pt-BR", ("pt", "com.br")),
        ("fr-CA", ("fr", "ca")),
        ("zh", ("zh", "com")),
        ("zh-TW", ("zh-TW", "com")),
        ("he-IL", ("iw", "com")),
    ],
)
def test_language_tags_map_to_gtts_voices(language: str, voice: tuple[str, str]) -> None:
    assert gtts_voice(language) == voice


async def test_a_language_google_cannot_speak_is_capability_unavailable(
    sut: GttsTextToSpeech,
) -> None:
    with pytest.raises(CapabilityUnavailable, match="cannot speak 'xx-YY'"):
        await sut.synthesize("hello", language="xx-YY")


@pytest.mark.parametrize("text", ["", "   ", "...!?"])
async def test_nothing_to_say_is_invalid_input(
    google_translate: FakeGoogleTranslate, sut: GttsTextToSpeech, text: str
) -> None:
    with pytest.raises(InvalidInput, match="nothing to say"):
        await sut.synthesize(text, language="en-US")
    assert google_translate.requests == []


async def test_an_http_error_from_google_is_a_service_error_with_the_status(
    google_translate: FakeGoogleTranslate, sut: GttsTextToSpeech
) -> None:
    google_translate.status = 429

    with pytest.raises(ServiceError, match=r"^Google text-to-speech failed \(HTTP 429\)"):
        await sut.synthesize("hello", language="en-US")


async def test_without_network_it_is_a_service_error(no_proxy: None, sut: GttsTextToSpeech) -> None:
    # pytest-socket allows 127.0.0.1 only, and this machine has no route out anyway.
    with pytest.raises(ServiceError, match=r"^Google text-to-speech could not be reached"):
        await sut.synthesize("hello", language="en-US")


async def test_an_unreachable_proxy_is_a_service_error(
    monkeypatch: pytest.MonkeyPatch, no_proxy: None, sut: GttsTextToSpeech
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")

    with pytest.raises(ServiceError, match=r"^Google text-to-speech could not be reached"):
        await sut.synthesize("hello", language="en-US")
