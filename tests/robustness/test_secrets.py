"""Secrets: the Discord token, the OpenAI key, a password in the base URL and a proxy's password
never appear in anything trainerbot shows or writes.

One test runs a whole session with known secret values and captures everything: every log record
of every logger at DEBUG (trainerbot, openai, httpx, discord, ...) with its traceback, stdout and
stderr at the file-descriptor level, warnings, every console reply, ``trainerbot doctor``, the
CLI's answer to invalid configurations, the errors after the OpenAI fake answers 401 (echoing the
key), 400, 403, 500 and malformed bodies for chat, embeddings, training and speech, the Discord
bot's messages (through dpytest) and a Discord login refused by a fake Discord API. Then every
captured text and every file written (the workspace's records, datasets, exports, archives and
models, zip members included, and what dpytest saved of the bot's attachments) is searched for
each secret and for recognisable pieces of them. Another test proves the search finds a secret
deliberately leaked through each channel.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import io
import json
import logging
import math
import re
import shutil
import struct
import sys
import threading
import traceback
import warnings
import wave
import zipfile
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import discord
import discord.ext.test as dpytest
import pytest
from aiohttp import web
from discord.ext import commands
from pydantic import ValidationError

from trainerbot import cli
from trainerbot.adapters.console import Console
from trainerbot.adapters.openai import make_client
from trainerbot.config import Settings
from trainerbot.container import Container, close_container, create_bot, create_container
from trainerbot.core.errors import TrainerbotError
from trainerbot.core.tenancy import Tenant

# The Discord tests' helpers live beside their conftest, which is not on the path from here.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "adapters" / "discord"))
from discord_support import on_dpytest

from database_support import tenant_rows

T = TypeVar("T")

# --- the secrets ----------------------------------------------------------------------------

DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GhXyZa.d1sc0rdT0kenS3cretPart-9f8e7d6c5b4a"
OPENAI_KEY = "sk-proj-S3cretKeyForTrainerbot0a1b2c3d4e5fQx7Wz9"
URL_USER = "svc-trainer"
URL_PASSWORD = "Url-Pa55word-7q2zK"
PROXY_PASSWORD = "Pr0xy-Pa55-3x9kLm"
PROXY_URL = f"http://proxy-user:{PROXY_PASSWORD}@127.0.0.1:9"
BASIC = base64.b64encode(f"{URL_USER}:{URL_PASSWORD}".encode()).decode()

# What must never be found: each secret, and the pieces of one a reader would recognise.
NEEDLES: dict[str, str] = {
    "the Discord token": DISCORD_TOKEN,
    "the Discord token's secret part": DISCORD_TOKEN.rsplit(".", 1)[1],
    "the Discord token's last 8 characters": DISCORD_TOKEN[-8:],
    "the OpenAI key": OPENAI_KEY,
    "the OpenAI key's body": OPENAI_KEY[8:24],
    "the OpenAI key's last 8 characters": OPENAI_KEY[-8:],
    "the base URL's password": URL_PASSWORD,
    "the base URL's user:password": f"{URL_USER}:{URL_PASSWORD}",
    "the base URL's credentials as Basic auth": BASIC,
    "the proxy's password": PROXY_PASSWORD,
}

LOGGERS = (
    "trainerbot",
    "openai",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
    "discord",
    "discord.ext.tests",
    "aiohttp",
    "asyncio",
)

CHATS = "\n".join(
    json.dumps(
        {
            "messages": [
                {"role": "user", "content": f"What is the capital of country number {i}?"},
                {"role": "assistant", "content": f"City number {i}."},
            ]
        }
    )
    for i in range(16)
)


def fake_openai_module() -> ModuleType:
    """``tests/adapters/openai/fake_openai.py``, the local fake of the OpenAI API (the module
    the OpenAI tests import, when they have already)."""
    if "fake_openai" not in sys.modules:
        path = Path(__file__).parents[1] / "adapters" / "openai" / "fake_openai.py"
        spec = importlib.util.spec_from_file_location("fake_openai", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["fake_openai"] = module
        spec.loader.exec_module(module)
    return sys.modules["fake_openai"]


# --- the harness: capture everything, search everything --------------------------------------


class _Collect(logging.Handler):
    def __init__(self, into: list[tuple[str, str]]) -> None:
        super().__init__(logging.DEBUG)
        self.into = into
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # format() adds the traceback (exc_info) and stack_info, where a secret could hide too.
        self.into.append((f"log {record.name}", self.format(record)))


@dataclass
class Capture:
    """Everything a session showed: (where, text) pairs."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, text: object) -> None:
        self.texts.append((where, str(text)))

    @contextlib.contextmanager
    def logging_at_debug(self) -> Iterator[None]:
        """Every logger (those that exist and those made later) at DEBUG, propagating to a
        handler on the root logger that keeps every record."""
        handler = _Collect(self.texts)
        manager = logging.root.manager
        loggers = [logging.getLogger(name) for name in LOGGERS] + [
            logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)
        ]
        saved = [(lg, lg.level, lg.propagate, lg.disabled) for lg in loggers]
        root_level, disabled_level = logging.root.level, manager.disable
        logging.disable(logging.NOTSET)
        logging.root.setLevel(logging.DEBUG)
        logging.root.addHandler(handler)
        for logger in loggers:
            logger.setLevel(logging.DEBUG)
            logger.propagate = True
            logger.disabled = False
        try:
            yield
        finally:
            logging.root.removeHandler(handler)
            logging.root.setLevel(root_level)
            logging.disable(disabled_level)
            for logger, level, propagate, disabled in saved:
                logger.setLevel(level)
                logger.propagate = propagate
                logger.disabled = disabled

    @contextlib.contextmanager
    def warnings_shown(self) -> Iterator[None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for warning in caught:
            self.add("warning", f"{warning.category.__name__}: {warning.message}")


def file_texts(root: Path) -> Iterator[tuple[str, str]]:
    """Every file under ``root`` as text, and every member of every zip file (archives, model
    artifacts), which would hide a secret from a search of the compressed bytes."""
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        yield f"file {path}", path.read_bytes().decode("utf-8", "replace")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    text = archive.read(member).decode("utf-8", "replace")
                    yield f"file {path} ! {member}", text


def leaks(texts: list[tuple[str, str]]) -> list[str]:
    """Each secret (or piece of one) found, where, and around what."""
    found = []
    for where, text in texts:
        for name, needle in NEEDLES.items():
            at = text.find(needle)
            if at >= 0:
                context = text[max(0, at - 60) : at + len(needle) + 20].replace("\n", "⏎")
                found.append(f"{name} in {where}: …{context}…")
    return found


# --- the servers: the OpenAI fake and a fake Discord API, on a loop of their own ------------


class Servers:
    """An event loop in a thread for the fakes, so the session can call the CLI (which runs its
    own loops with ``asyncio.run``) from this thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.discord_logins: list[str] = []
        self._discord: web.AppRunner | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def openai(self, **options: Any) -> Any:
        server = fake_openai_module().FakeOpenAI(**options)
        self.run(server.start())
        return server

    def discord_api(self) -> int:
        """A Discord API that refuses the token, as Discord does a revoked one; its port."""

        async def me(request: web.Request) -> web.Response:
            self.discord_logins.append(request.headers.get("Authorization", ""))
            return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

        async def start() -> int:
            app = web.Application()
            app.router.add_get("/api/v10/users/@me", me)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._discord = runner
            return int(runner.addresses[0][1])

        return self.run(start())

    def close(self, *fakes: Any) -> None:
        for fake in fakes:
            self.run(fake.stop())
        if self._discord is not None:
            self.run(self._discord.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture
def servers() -> Iterator[Servers]:
    running = Servers()
    yield running
    # close() is called by the test, which knows its fakes; this stops the loop if it failed.
    if running.loop.is_running():
        running.loop.call_soon_threadsafe(running.loop.stop)


# --- the session ---------------------------------------------------------------------------


def tone_wav(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = (
            int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(int(seconds * rate))
        )
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def make_workspace(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "readme.txt").write_text("hello from the workspace")
    (root / "chats").mkdir()
    (root / "chats" / "qa.jsonl").write_text(CHATS)
    (root / "voice").mkdir()
    (root / "voice" / "hello.wav").write_bytes(tone_wav())
    return root


# 401 echoing the key as a careless server would, 400 naming it, 403, 500, malformed JSON.
FAULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("server_error", {"status": 401, "message": f"Incorrect API key provided: {OPENAI_KEY}."}),
    ("server_error", {"status": 400, "message": f"Key {OPENAI_KEY} may not use this model."}),
    ("permission_denied", {}),
    ("server_error", {}),
    ("malformed", {}),
)


def one_id(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"no {pattern!r} in {text!r}"
    return found.group(1)


async def console_session(capture: Capture, fake: Any, workspace: Path) -> None:
    """Every kind of command through the console, on the OpenAI fake, then each fault on chat,
    embeddings, training, speech-to-text and text-to-speech."""
    container = create_container(Settings())
    try:
        await console_commands(capture, fake, workspace, container)
    finally:
        await close_container(container)  # the records' database


async def console_commands(
    capture: Capture, fake: Any, workspace: Path, container: Container
) -> None:
    scope = container.tenants().scope(Tenant.console())
    console = Console(scope.use_cases, exports_dir=workspace / "exports")

    async def say(line: str) -> str:
        reply = await console.handle(line)
        capture.add(f"console reply to {line[:40]!r}", reply)
        return reply

    await say("!hi")
    await say("!help")
    answer = await say("What is the capital of France?")
    answer_id = one_id(r"!correct (\S+) ", answer)
    await say(f"!correct {answer_id} Paris, on the Seine.")
    await say("!feedback the answers are fine")

    fewshot = await say("!train data_dir=chats method=fewshot name=qa")
    assert "succeeded" in fewshot, fewshot
    model = one_id(r"!use (\S+)", fewshot)
    await say(f"!use {model}")
    await say("What is the capital of country number 3?")

    tuned = await say("!train data_dir=chats method=openai name=tuned")
    job = one_id(r"Training job (job-\w+)", tuned)
    for _ in range(4):
        await say(f"!jobs {job}")
    await say("!jobs")
    await say("!models")

    tested = await say("!test dataset=qa")
    assert "error" not in tested.split("\n", 1)[0], tested
    await say("!fix 1")
    await say("!export")
    await say("!export qa")
    await say("!archive docs")
    await say("!select_dataset chats")
    heard = await say("!transcribe voice/hello.wav")
    assert "hello from the fake server" in heard, heard
    await say("!getfile records/jobs.jsonl")
    await say("!getfile records/models.jsonl")
    await say("!getfile ../../records.sqlite3")  # every tenant's records: never a file of one
    await say("!getfile ../../etc/passwd")

    tts = container.text_to_speech()
    spoken = await tts.synthesize("Paris is the capital of France.", language="en-US")
    assert spoken.data
    actions = {
        "/chat/completions": "What is the capital of Spain?",
        "/embeddings": "!train data_dir=chats method=fewshot name=qa2",
        "/files": "!train data_dir=chats method=openai name=tuned2",
        "/fine_tuning/jobs": "!train data_dir=chats method=openai name=tuned3",
        "/audio/transcriptions": "!transcribe voice/hello.wav",
    }
    for path, line in actions.items():
        for kind, options in FAULTS:
            fake.inject(kind, path=path, **options)
            await say(line)
        assert fake.pending_faults == 0, path
    for kind, options in FAULTS:
        fake.inject(kind, path="/audio/speech", **options)
        try:
            await tts.synthesize("Paris is the capital of France.", language="en-US")
        except TrainerbotError as error:
            capture.add(f"text-to-speech after {kind}", error)
    await say(f"!jobs {job}")


async def discord_session(capture: Capture, fake: Any, console_workspace: Path) -> None:
    """The bot built as ``trainerbot run`` builds it, on dpytest: chat, commands, a refusal, and
    the error replies after faults — in a server whose workspace holds the console's files."""
    bot = create_bot(create_container(Settings()))
    config = await on_dpytest(bot, ["tess", "max"])
    server = console_workspace.parent / str(config.guilds[0].id)
    for folder in ("chats", "docs"):
        shutil.copytree(console_workspace / folder, server / folder)
    trainer, member = config.members
    await dpytest.add_role(trainer, dpytest.backend.make_role("trainer", config.guilds[0]))
    channel = config.channels[0]

    async def say(content: str, by: discord.Member) -> None:
        with contextlib.suppress(commands.CommandError):
            await dpytest.message(content, channel=channel, member=by)
        while not dpytest.sent_queue.empty():
            sent = dpytest.get_message()
            capture.add(f"discord reply to {content[:40]!r}", sent.content)
            for attachment in sent.attachments:
                capture.add(f"discord attachment {attachment.filename}", attachment.filename)

    try:
        await say("!hi", member)
        await say("What is the capital of France?", member)
        for kind, options in FAULTS:
            fake.inject(kind, path="/chat/completions", **options)
            await say("What is the capital of Spain?", member)
        await say("!train data_dir=chats", member)  # refused
        await say("!getfile records/jobs.jsonl", member)  # refused
        for kind, options in FAULTS[:3]:
            fake.inject(kind, path="/files", **options)
            await say("!train data_dir=chats method=openai name=from-discord", trainer)
        await say("!jobs", trainer)
        await say("!models", trainer)
        await say("!export", trainer)
        await say("!getfile records/jobs.jsonl", trainer)
        await say("!frobnicate", trainer)
        assert fake.pending_faults == 0
    finally:
        bot.ws = None  # type: ignore[assignment]  # dpytest's gateway has no socket to close
        await bot.close()
        await dpytest.empty_queue()


def cli_run(capture: Capture, argv: list[str]) -> None:
    """``trainerbot ARGV``, as a user runs it: its exit, or what it died with."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        capture.add(f"trainerbot {' '.join(argv)} exit", exit_.code)
    except Exception as error:  # what Python would print: the whole traceback
        capture.add(
            f"trainerbot {' '.join(argv)} traceback", "".join(traceback.format_exception(error))
        )
    else:
        capture.add(f"trainerbot {' '.join(argv)} exit", code)


def test_a_full_session_shows_no_secret_anywhere(
    servers: Servers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # The console's tenant: where the CLI and the console act (the Discord server's is filled from
    # it, in discord_session).
    workspace = make_workspace(tmp_path / "ws" / "servers" / "console")
    monkeypatch.chdir(tmp_path)  # dpytest saves the bot's attachments in the cwd
    fake = servers.openai(require_key=OPENAI_KEY)  # checks the key, as OpenAI does
    fake.auto_advance = True
    keyless = servers.openai()  # a server behind a password in its URL
    discord_port = servers.discord_api()
    with_password = keyless.base_url.replace("http://", f"http://{URL_USER}:{URL_PASSWORD}@")
    unreachable = f"http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:9/v1"

    for name, value in {
        "TRAINERBOT_DISCORD_TOKEN": DISCORD_TOKEN,
        "TRAINERBOT_OPENAI_API_KEY": OPENAI_KEY,
        "TRAINERBOT_OPENAI_BASE_URL": fake.base_url,
        "TRAINERBOT_OPENAI_MAX_RETRIES": "0",
        "TRAINERBOT_OPENAI_POLL_SECONDS": "0.02",
        "TRAINERBOT_JOB_POLL_SECONDS": "0.05",
        "TRAINERBOT_STT_ENGINE": "openai",
        "TRAINERBOT_TTS_ENGINE": "openai",
        "TRAINERBOT_TTS_FALLBACK": "none",
        "TRAINERBOT_WORKSPACE": str(tmp_path / "ws"),
        "TRAINERBOT_LOG_LEVEL": "DEBUG",
        "TRAINERBOT_RATE_LIMIT_BURST": "100",  # every fault below gets its answer
        "HTTP_PROXY": PROXY_URL,
        "HTTPS_PROXY": PROXY_URL,
        "ALL_PROXY": PROXY_URL,
        "NO_PROXY": "127.0.0.1,localhost",
    }.items():
        monkeypatch.setenv(name, value)

    capture = Capture()
    with capture.logging_at_debug(), capture.warnings_shown():
        # Invalid configurations while the secrets are set; one secret in the wrong setting.
        for name, bad in {
            "TRAINERBOT_OPENAI_TIMEOUT": "-1",
            "TRAINERBOT_CHAT_BACKEND": "cloud",
            "TRAINERBOT_VOICE_IDLE_SECONDS": DISCORD_TOKEN,
            "TRAINERBOT_LOG_LEVEL": OPENAI_KEY,
            "TRAINERBOT_DISCORD_CHANNELS": OPENAI_KEY,
        }.items():
            with monkeypatch.context() as env:
                env.setenv(name, bad)
                cli_run(capture, ["doctor"])
        try:
            Settings(openai_timeout="soon")  # type: ignore[arg-type]
        except ValidationError as error:
            capture.add("Settings() validation error", error)

        cli_run(capture, ["doctor"])
        cli_run(capture, ["train", "data_dir=chats", "method=openai", "name=from-cli"])
        cli_run(capture, ["jobs"])
        cli_run(capture, ["test", "dataset=from-cli"])
        with monkeypatch.context() as env:
            env.setattr(sys, "stdin", io.StringIO("!hi\nHow are you?\n!export\n!jobs\n"))
            cli_run(capture, ["console"])

        asyncio.run(console_session(capture, fake, workspace))
        asyncio.run(discord_session(capture, fake, workspace))

        # A server behind a password in its URL, and one that cannot be reached.
        for url in (with_password, unreachable):
            with monkeypatch.context() as env:
                env.setenv("TRAINERBOT_OPENAI_BASE_URL", url)
                env.delenv("TRAINERBOT_OPENAI_API_KEY")
                # A program embedding trainerbot prints or logs its settings.
                capture.add("repr(Settings())", repr(Settings()))
                capture.add("str(Settings())", str(Settings()))
                logging.getLogger("embedding.program").info("settings: %s", Settings())
                cli_run(capture, ["doctor"])
                env.setattr(sys, "stdin", io.StringIO("Hello there\n!transcribe voice/hello.wav\n"))
                cli_run(capture, ["console"])
        keyless.inject("server_error", path="/chat/completions")
        with monkeypatch.context() as env:
            env.setenv("TRAINERBOT_OPENAI_BASE_URL", with_password)
            env.setattr(sys, "stdin", io.StringIO("Hello again\n"))
            cli_run(capture, ["console"])
        assert keyless.pending_faults == 0

        # `trainerbot run` with a token Discord refuses.
        with monkeypatch.context() as env:
            env.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{discord_port}/api/v10")
            cli_run(capture, ["run"])

    servers.close(fake, keyless)
    out, err = capfd.readouterr()
    capture.add("stdout", out)
    capture.add("stderr", err)

    # The session did use every secret: the servers were sent them.
    assert any(r.header("Authorization") == f"Bearer {OPENAI_KEY}" for r in fake.requests)
    assert any(r.header("Authorization") == f"Basic {BASIC}" for r in keyless.requests)
    assert servers.discord_logins == [f"Bot {DISCORD_TOKEN}"]
    # ... and it did what it meant to: the workspace has exports, an archive, models, and the
    # console's records are in the workspace's database (a file searched below like the others).
    written = {p.relative_to(workspace).parts[0] for p in workspace.rglob("*") if p.is_file()}
    assert {"exports", "archives", "models", "datasets"} <= written
    assert tenant_rows(tmp_path / "ws")["console"]
    assert "trainerbot doctor" in " ".join(where for where, _ in capture.texts)
    assert sum(where.startswith("log openai") for where, _ in capture.texts) > 20
    assert any(where.startswith("log httpx") for where, _ in capture.texts)

    found = leaks(capture.texts + list(file_texts(tmp_path)))

    assert found == [], "secrets shown or written:\n" + "\n".join(found)


def test_the_search_finds_a_secret_that_is_deliberately_leaked(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """The harness is not blind: a secret put in each channel it watches is found."""
    capture = Capture()
    with capture.logging_at_debug(), capture.warnings_shown():
        logging.getLogger("httpx2").debug("GET http://%s@host/", f"{URL_USER}:{URL_PASSWORD}")
        try:
            raise RuntimeError(f"token {DISCORD_TOKEN}")
        except RuntimeError:
            logging.getLogger("some.library").info("failed", exc_info=True)
        warnings.warn(f"proxy {PROXY_URL}", stacklevel=1)
    print(f"key ...{OPENAI_KEY[-8:]}")
    print(f"token {DISCORD_TOKEN.rsplit('.', 1)[1]}", file=sys.stderr)
    out, err = capfd.readouterr()
    capture.add("stdout", out)
    capture.add("stderr", err)
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "notes.jsonl").write_text(json.dumps({"auth": f"Basic {BASIC}"}))
    with zipfile.ZipFile(tmp_path / "archive.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner/settings.txt", f"key={OPENAI_KEY}\n" * 50)

    found = leaks(capture.texts + list(file_texts(tmp_path)))

    kinds = {line.split(" in ", 1)[0] for line in found}
    assert kinds == set(NEEDLES)
    assert any("log httpx2" in line and "password" in line for line in found)
    assert any("log some.library" in line and "Discord token" in line for line in found)
    assert any(line.startswith("the proxy's password in warning") for line in found)
    assert any(line.startswith("the OpenAI key's last 8 characters in stdout") for line in found)
    assert any(line.startswith("the Discord token's secret part in stderr") for line in found)
    assert any("notes.jsonl" in line and "Basic auth" in line for line in found)
    assert any("archive.zip ! inner/settings.txt" in line for line in found)


async def test_credentials_in_the_base_url_become_a_header_and_leave_the_url() -> None:
    """What httpx would have made of them (percent-decoded, as Basic auth, in place of the
    key's Bearer header), with the URL the SDK and httpx log holding none of them."""
    fake = fake_openai_module().FakeOpenAI()
    async with fake:
        host = fake.base_url.removeprefix("http://")
        with_credentials = make_client(
            api_key=OPENAI_KEY, base_url=f"http://us%40er:pa%3Ass@{host}", timeout=5, max_retries=0
        )
        plain = make_client(api_key=OPENAI_KEY, base_url=fake.base_url, timeout=5, max_retries=0)
        async with with_credentials, plain:
            await with_credentials.models.list()
            await plain.models.list()

    assert str(with_credentials.base_url) == f"{fake.base_url}/"
    basic = base64.b64encode(b"us@er:pa:ss").decode()
    sent = [request.header("Authorization") for request in fake.requests]
    assert sent == [f"Basic {basic}", f"Bearer {OPENAI_KEY}"]
