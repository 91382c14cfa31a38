"""The ``trainerbot`` command (also ``python -m trainerbot``).

trainerbot              the Discord bot when TRAINERBOT_DISCORD_TOKEN is set, else the console
trainerbot run          the Discord bot (explains what to set when there is no token); an
                        unreachable Discord is retried (--attempts), a refused token or a
                        missing intent is one line
trainerbot invite       the URL that adds the bot to a server (scopes and permissions it needs)
trainerbot console      the command set in a terminal (interactive, or piped line by line)
trainerbot doctor       what is configured and which engines are available; never a secret
trainerbot train|test|jobs ARGS...   one console command, e.g. `trainerbot train data_dir=x`
                        (train stays until the job it started ends, printing each change)
trainerbot adopt --server ID         make a workspace from before tenants that server's data

The console and the one-shot commands act inside one tenant: ``--server ID`` (a Discord server's
id; also ``dm-<user id>``), or by default the console's own tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import logging
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

from pydantic import ValidationError

from trainerbot import __version__
from trainerbot.adapters import sql
from trainerbot.adapters.audio import whisper_weights
from trainerbot.adapters.audio.espeak import espeak_voice_for
from trainerbot.adapters.console import Console
from trainerbot.adapters.discord import startup
from trainerbot.adapters.discord.invite import application_id_from_token, invite_url
from trainerbot.adapters.discord.sync import STATE_FILENAME
from trainerbot.adapters.embeddings import MiniLMEmbeddings
from trainerbot.adapters.learning import LoraModelTrainer, finetune_installed
from trainerbot.adapters.learning.lora import NOT_INSTALLED as LORA_NOT_INSTALLED
from trainerbot.adapters.openai import ModelCheck, check_models, make_client, service_name
from trainerbot.adapters.storage.tenants import tenant_usage
from trainerbot.adapters.unavailable import Unavailable
from trainerbot.config import Settings
from trainerbot.container import (
    TENANTS_FOLDER,
    Container,
    Tenants,
    close_container,
    create_bot,
    create_container,
    import_earlier_records_or_exit,
    tenant_workspace,
)
from trainerbot.container.records import record_sources
from trainerbot.container.worker import run_worker
from trainerbot.core.errors import CapabilityUnavailable, TrainerbotError
from trainerbot.core.language import is_auto
from trainerbot.core.limits import human_bytes
from trainerbot.core.tenancy import Tenant

log = logging.getLogger("trainerbot")

EXIT_CONFIG = 2
DISCORD_SETUP_HELP = (
    "No Discord token: set TRAINERBOT_DISCORD_TOKEN (in the environment or in .env) to the bot "
    "token from https://discord.com/developers/applications, or run `trainerbot console` to use "
    "trainerbot in this terminal."
)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        # Name the setting and the problem, never the value (it may be a secret).
        # A rule across settings (a model validator) has no place: its message names them.
        problems = "; ".join(
            f"TRAINERBOT_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in error.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"trainerbot: invalid configuration — {problems}") from None


def _exports_dir(settings: Settings, tenant: Tenant) -> Path | None:
    """Where the console saves what !test produces: the tenant's exports/ folder (None, a
    temporary folder, when nothing is kept on disk)."""
    if settings.storage != "filesystem":
        return None
    return tenant_workspace(settings, tenant) / "exports"


def _tenant(server: str | None) -> Tenant:
    if server is None:
        return Tenant.console()
    try:
        return Tenant.parse(server)
    except TrainerbotError as error:
        raise SystemExit(f"trainerbot: --server: {error}") from None


def _console_for(settings: Settings, server: str | None) -> tuple[Console, Container]:
    """The console over the tenant ``--server`` names (by default the console's own), and the
    container it runs on (``close_container`` it when done)."""
    tenant = _tenant(server)
    container = create_container(settings)
    scope = container.tenants().scope(tenant)
    console = Console(
        scope.use_cases,
        prefix=settings.command_prefix,
        exports_dir=_exports_dir(settings, tenant),
        tenant=tenant,
    )
    return console, container


async def _console(
    settings: Settings, stdin: TextIO | None = None, *, server: str | None = None
) -> int:
    console, container = _console_for(settings, server)
    try:
        return await console.run(stdin=stdin)
    finally:
        await close_container(container)


async def _one_command(settings: Settings, line: str, *, server: str | None = None) -> int:
    console, container = _console_for(settings, server)
    try:
        reply = await console.handle_to_the_end(line)
    finally:
        await close_container(container)
    return 1 if reply.startswith("error:") else 0


async def _migrate(settings: Settings) -> int:
    """Import every tenant's JSON Lines records into the database; one line says what."""
    if settings.records_adapter != "sql":
        print(
            "trainerbot: migrate imports the workspace's records into a database: keep "
            "TRAINERBOT_STORAGE=filesystem and TRAINERBOT_RECORDS=sqlite (the workspace's file), "
            "or set TRAINERBOT_DATABASE_URL.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    db = sql.Database(settings.database_url_value)
    imported, workspaces = sql.Imported(), 0
    try:
        await db.migrate()
        # Each folder as the start's own import owns it (the one server's, or each tenant's).
        for key, folder in record_sources(settings):
            if folder.is_dir():
                imported.add(await sql.import_records(db, key, folder))
                workspaces += 1
    except TrainerbotError as error:
        print(f"trainerbot: {error}", file=sys.stderr)
        return 1
    finally:
        await db.close()
    print(sql.import_report(imported, workspaces, db))
    return 0


async def _worker(settings: Settings, name: str | None, concurrency: int) -> int:
    """Take training jobs from the queue until stopped (SIGINT, SIGTERM)."""
    container = create_container(settings)
    try:
        await run_worker(container, name=name, concurrency=concurrency)
    except TrainerbotError as error:
        print(f"trainerbot: {error}", file=sys.stderr)
        return EXIT_CONFIG if isinstance(error, CapabilityUnavailable) else 1
    finally:
        await close_container(container)
    return 0


def _adopt(settings: Settings, server: str) -> int:
    if settings.storage != "filesystem":
        print("trainerbot: adopt works on a workspace on disk (TRAINERBOT_STORAGE=filesystem).")
        return EXIT_CONFIG
    tenants: Tenants = create_container(settings).tenants()
    try:
        print(tenants.adopt(_tenant(server)).summary())
    except TrainerbotError as error:
        print(f"trainerbot: {error}", file=sys.stderr)
        return 1
    return 0


def tenant_lines(settings: Settings, shown: int = 20) -> list[str]:
    """The tenants on disk, the largest first, with their sizes."""
    if settings.storage != "filesystem":
        return ["tenants: kept in memory (storage=memory)"]
    found = tenant_usage(settings.workspace / TENANTS_FOLDER)
    total = sum(u.bytes for u in found)
    lines = [f"tenants: {len(found)} in {TENANTS_FOLDER}/ ({human_bytes(total)})"]
    for item in found[:shown]:
        lines.append(
            f"  {item.tenant.key:<24} {item.tenant.kind.value:<8} "
            f"{item.files:>6} files  {human_bytes(item.bytes):>10}"
        )
    if len(found) > shown:
        lines.append(f"  … and {len(found) - shown} more")
    return lines


def _run_discord(settings: Settings, attempts: int = startup.Retry.attempts) -> int:
    """The bot until it is stopped. Its slash commands are synced when they changed since the
    last start (the fingerprint in ``<workspace>/.discord-commands.sha256``); start-up faults
    are one line each and an exit code (``startup.run_bot``)."""
    if settings.discord_token is None:
        print(DISCORD_SETUP_HELP, file=sys.stderr)
        return EXIT_CONFIG
    bot = create_bot(create_container(settings))
    bot.options = replace(bot.options, commands_state=settings.workspace / STATE_FILENAME)
    # What is alive now (modules, the container) lives as long as the bot: kept out of the
    # collector's full passes, which otherwise pause the event loop ~0.1 s (bench/load.py).
    gc.collect()
    gc.freeze()
    # discord.py's own logging setup is not used: main() has configured logging.
    return startup.run_bot(
        bot, settings.discord_token.get_secret_value(), retry=startup.Retry(attempts=attempts)
    )


def _invite(settings: Settings, client_id: int | None) -> int:
    if client_id is None and settings.discord_token is not None:
        client_id = application_id_from_token(settings.discord_token.get_secret_value())
    if client_id is None:
        print(
            "trainerbot: give --client-id (the Application ID on the General Information page "
            "at https://discord.com/developers/applications), or set TRAINERBOT_DISCORD_TOKEN",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    print(invite_url(client_id))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _without_credentials(url: str) -> str:
    """``http://user:pass@host/v1`` → ``http://***@host/v1``: a URL may carry a password."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def _shown_date(value: str) -> str:
    """A shutdown date as the server gave it: an ISO date, or a Unix timestamp made readable."""
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC).date().isoformat()
    return value


def openai_model_lines(settings: Settings) -> list[str]:
    """Whether the configured OpenAI models exist on the server, and when they shut down."""
    if not settings.openai_configured:
        return ["openai models: not checked (no OpenAI key or base URL configured)"]
    wanted = {"fine-tuning base": settings.openai_finetune_model}
    if settings.resolved_chat_backend == "openai":
        wanted = {"chat": settings.resolved_chat_model, **wanted}
    if settings.resolved_stt_engine == "openai":
        wanted["speech-to-text"] = settings.openai_stt_model
    if settings.resolved_tts_engine == "openai":
        wanted["text-to-speech"] = settings.openai_tts_model
    wanted["embeddings"] = settings.openai_embedding_model
    service = service_name(settings.openai_base_url)

    async def check() -> list[ModelCheck] | TrainerbotError:
        # A quick look: no long waits or retries for a report.
        client = make_client(
            api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
            base_url=settings.openai_base_url,
            timeout=10.0,
            max_retries=0,
        )
        async with client:
            return await check_models(client, wanted, service=service)

    result = asyncio.run(check())
    if isinstance(result, TrainerbotError):
        return [f"openai models: cannot check — {result}"]
    lines = [f"openai models (on {service}):"]
    for item in result:
        if not item.found:
            state = "NOT FOUND on the server: set another model name"
        elif item.shutdown_date:
            state = f"available, shuts down {_shown_date(item.shutdown_date)}"
        else:
            state = "available"
        lines.append(f"  {item.role:<18} {item.model:<28} {state}")
    return lines


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _embeddings_status(embeddings: object) -> str:
    """Which sentence embeddings are in use; for the offline model, whether its weights check out."""
    if embeddings is None:
        return "none (TF-IDF only)"
    name = str(getattr(embeddings, "name", type(embeddings).__name__))
    if isinstance(embeddings, MiniLMEmbeddings):
        try:
            embeddings.verify()
        except TrainerbotError as error:
            return f"{name}: not available — {error}"
        return f"{name} (offline; weights check out)"
    return f"{name} (configured)"


def speech_lines(settings: Settings) -> list[str]:
    """The speech model and whether its weights check out; the offline voice for the language."""
    lines = []
    if settings.resolved_stt_engine == "faster_whisper":
        if settings.whisper_model:
            model = f"{settings.whisper_model} (TRAINERBOT_WHISPER_MODEL)"
        elif (problem := whisper_weights.verify()) is None:
            model = f"{whisper_weights.MODEL_NAME} (bundled, multilingual; weights check out)"
        else:
            model = (
                f"{whisper_weights.MODEL_NAME}: not available — {problem} sphinx is used instead"
            )
        lines.append(f"  speech model         {model}")
    if is_auto(settings.language):
        voice = "the language heard, for voice messages; English otherwise"
    elif (found := espeak_voice_for(settings.language)) is not None:
        voice = f"espeak-ng voice {found!r} for {settings.language}"
    else:
        voice = (
            f"espeak-ng has no voice for {settings.language}: offline replies are spoken in English"
        )
    lines.append(f"  offline voice        {voice}")
    return lines


def _records_line(settings: Settings) -> str:
    """Where the records are kept; a database URL without its password."""
    if settings.records_adapter == "sql":
        return sql.async_url(settings.database_url_value).render_as_string(hide_password=True)
    if settings.records_adapter == "memory":
        return "in memory"
    return "JSON Lines files (each tenant's records/)"


def _training_line(settings: Settings) -> str:
    if settings.training_adapter == "queue":
        return "fewshot, local and lora queued for `trainerbot worker` (in the records' database)"
    return "in this process"


def _shards_line(settings: Settings) -> str:
    if settings.shard_count is None:
        return "unsharded"
    ids = ", ".join(map(str, sorted(settings.shard_ids))) or "all"
    return f"{settings.shard_count} in all; this process runs {ids}"


def doctor(settings: Settings) -> list[str]:
    """What is configured and what works — secrets shown only as set / not set."""

    def secret(value: object) -> str:
        return "set" if value is not None else "not set"

    workspace = settings.workspace.resolve()
    writable = os.access(workspace if workspace.exists() else workspace.parent, os.W_OK)
    ffmpeg = str(settings.ffmpeg_path) if settings.ffmpeg_path else None
    if ffmpeg is None and _available("imageio_ffmpeg"):
        import imageio_ffmpeg

        ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    container = create_container(settings)
    trainers = container.trainers()

    def status(adapter: object) -> str:
        if isinstance(adapter, Unavailable):
            return f"not available — {adapter.reason}"
        if isinstance(adapter, LoraModelTrainer) and not finetune_installed():
            return f"not available — {LORA_NOT_INSTALLED}"
        return f"configured ({type(adapter).__name__})"

    lines = [
        f"trainerbot {__version__} (Python {sys.version.split()[0]})",
        "configuration:",
        f"  discord token        {secret(settings.discord_token)}",
        f"  command prefix       {settings.command_prefix}",
        f"  trainer role         {settings.trainer_role}",
        f"  openai api key       {secret(settings.openai_api_key)}",
        f"  openai base url      {_without_credentials(settings.openai_base_url) if settings.openai_base_url else 'the SDK default'}",
        f"  chat backend         {settings.resolved_chat_backend} (model {settings.resolved_chat_model})",
        f"  default trainer      {settings.resolved_trainer}",
        f"  speech recognition   {settings.resolved_stt_engine} ({settings.language})",
        f"  text-to-speech       {settings.resolved_tts_engine}",
        f"  workspace            {workspace} ({'writable' if writable else 'NOT writable'})",
        f"  storage              {settings.storage}",
        f"  records              {_records_line(settings)}",
        f"  training             {_training_line(settings)}",
        f"  discord shards       {_shards_line(settings)}",
        "engines:",
        f"  ffmpeg               {ffmpeg if ffmpeg and os.path.exists(ffmpeg) else 'not found'}",
        f"  chat model           {status(container.chat_model())}",
        f"  speech recognition   {status(container.speech_to_text())}",
        *speech_lines(settings),
        f"  text-to-speech       {status(container.text_to_speech())}",
        f"  audio decoding       {status(container.audio_converter())}",
        f"  embeddings           {_embeddings_status(container.embeddings())}",
    ]
    lines += [f"  trainer {name:<12} {status(t)}" for name, t in trainers.items()]
    lines += tenant_lines(settings)
    lines.append("libraries:")
    for module, label in (
        ("discord", "discord.py"),
        ("nacl", "PyNaCl (voice)"),
        ("openai", "openai SDK"),
        ("speech_recognition", "SpeechRecognition"),
        ("pocketsphinx", "pocketsphinx (offline speech)"),
        ("gtts", "gTTS"),
        ("llama_cpp", "llama-cpp-python (embedded model)"),
    ):
        lines.append(f"  {label:<34} {'installed' if _available(module) else 'not installed'}")
    return lines + openai_model_lines(settings)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainerbot", description="Teach a language model from a chat."
    )
    parser.add_argument("--version", action="version", version=f"trainerbot {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="start the Discord bot")
    run.add_argument(
        "--attempts",
        type=_positive,
        default=startup.Retry.attempts,
        help="how many times to try reaching Discord at start, waiting 1, 2, 4 … s (at most "
        f"60 s) in between (default {startup.Retry.attempts})",
    )
    invite = sub.add_parser(
        "invite",
        help="print the URL that adds the bot to a server",
        description="Print the URL that adds the bot to a server, with the bot and "
        "applications.commands scopes and exactly the permissions the bot uses.",
    )
    invite.add_argument(
        "--client-id",
        type=_positive,
        help="the application's id (Application ID in the developer portal); by default read "
        "from TRAINERBOT_DISCORD_TOKEN, whose first part is the bot's id in base64 (the "
        "application's id for applications made since 2017)",
    )
    server_help = "act inside this server's tenant (its id; default: the console's own)"
    console = sub.add_parser("console", help="the commands in this terminal")
    console.add_argument("--server", help=server_help)
    sub.add_parser("doctor", help="show configuration, available engines and the tenants")
    for name in ("train", "test", "jobs"):
        one = sub.add_parser(name, help=f"run !{name} once, e.g. `trainerbot {name} key=value`")
        one.add_argument("--server", help=server_help)
        one.add_argument("args", nargs=argparse.REMAINDER)
    adopt = sub.add_parser(
        "adopt", help="move a workspace's data from before tenants into one server's tenant"
    )
    adopt.add_argument("--server", required=True, help="the Discord server's id")
    sub.add_parser(
        "migrate",
        help="import the workspace's JSON Lines records (every tenant's) into the database of "
        "TRAINERBOT_DATABASE_URL; running it again changes nothing",
    )
    worker = sub.add_parser(
        "worker",
        help="train the jobs the bots queue (needs TRAINERBOT_DATABASE_URL and the bots' "
        "workspace folder)",
    )
    worker.add_argument("--name", help="how jobs and logs name this worker (default host:pid)")
    worker.add_argument(
        "--concurrency",
        type=_positive,
        default=1,
        help="how many jobs to train at once (default 1: training fills a machine)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    settings = _settings()
    _configure_logging(settings.log_level)
    if args.command in (None, "run", "console", "train", "test", "jobs", "worker"):
        # Before anything reads the records (and before the bot adopts a workspace from before
        # tenants): an earlier release's JSON Lines records, imported once.
        import_earlier_records_or_exit(settings)
    if args.command == "doctor":
        if settings.log_level != "DEBUG":
            # The report says what failed; the adapters' warnings would only repeat it.
            logging.getLogger("trainerbot").setLevel(logging.ERROR)
        print("\n".join(doctor(settings)))
        return 0
    if args.command == "run":
        return _run_discord(settings, args.attempts)
    if args.command == "invite":
        return _invite(settings, args.client_id)
    if args.command == "console":
        return asyncio.run(_console(settings, server=args.server))
    if args.command == "adopt":
        return _adopt(settings, args.server)
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "worker":
        return asyncio.run(_worker(settings, args.name, args.concurrency))
    if args.command in ("train", "test", "jobs"):
        line = f"{settings.command_prefix}{args.command} {shlex.join(args.args)}"
        return asyncio.run(_one_command(settings, line, server=args.server))
    # No subcommand: Discord when a token is set, otherwise the console.
    if settings.discord_token is not None:
        return _run_discord(settings)
    return asyncio.run(_console(settings))


if __name__ == "__main__":
    raise SystemExit(main())
