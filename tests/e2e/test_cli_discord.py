"""`trainerbot run` and `trainerbot invite` as a user runs them: real processes, exit codes.

To keep ``run`` off the internet, the process is pointed at a closed port on 127.0.0.1 by a
``sitecustomize`` module on its PYTHONPATH (test only): it sets discord.py's REST base
(``discord.http.Route.BASE``, which trainerbot's start-up checks too).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import discord

from trainerbot.adapters.discord.invite import permissions

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.discord-secret-value"  # the id 123456789012345678
POINT_AT = """\
import os
import discord.http

discord.http.Route.BASE = os.environ["TEST_DISCORD_API"]
"""


def trainerbot(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "trainerbot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, "TRAINERBOT_STORAGE": "memory", **env},
        timeout=120,
        check=False,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_with_discord_unreachable_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(POINT_AT)
    port = closed_port()

    result = trainerbot(
        "run",
        "--attempts",
        "1",
        cwd=tmp_path,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        TEST_DISCORD_API=f"http://127.0.0.1:{port}/api/v10",
        TRAINERBOT_DISCORD_TOKEN=TOKEN,
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"trainerbot: cannot reach Discord (cannot connect to 127.0.0.1:{port}: Connect call "
        f"failed ('127.0.0.1', {port})) after 1 attempt: check the network, then start again"
    ]
    assert "discord-secret-value" not in result.stdout + result.stderr


def test_run_refuses_a_count_of_attempts_below_one(tmp_path: Path) -> None:
    result = trainerbot("run", "--attempts", "0", cwd=tmp_path)

    assert result.returncode == 2
    assert "--attempts: expected a whole number of at least 1, got '0'" in result.stderr


def test_invite_prints_the_url_with_both_scopes_and_the_bots_permissions(tmp_path: Path) -> None:
    result = trainerbot("invite", cwd=tmp_path, TRAINERBOT_DISCORD_TOKEN=TOKEN)

    assert result.returncode == 0, result.stderr
    url = urlsplit(result.stdout.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "discord.com", "/oauth2/authorize")
    query = parse_qs(url.query)
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert {name for name, allowed in granted if allowed} == {
        "read_messages",  # also named view_channel
        "send_messages",
        "send_messages_in_threads",
        "read_message_history",
        "attach_files",
        "connect",
        "speak",
    }
    assert granted == permissions()
    assert "discord-secret-value" not in result.stdout + result.stderr


def test_invite_takes_the_client_id_and_says_what_to_give_without_one(tmp_path: Path) -> None:
    given = trainerbot("invite", "--client-id", "987654321", cwd=tmp_path)
    assert given.returncode == 0
    assert "client_id=987654321&scope=bot+applications.commands&permissions=" in given.stdout

    missing = trainerbot("invite", cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert missing.stderr.startswith("trainerbot: give --client-id")
    assert "Traceback" not in missing.stderr
