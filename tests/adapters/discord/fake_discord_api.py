"""A local fake of the parts of Discord's HTTP API and gateway that starting the bot uses,
served by aiohttp on 127.0.0.1.

The real discord.py client is pointed at it by ``FakeDiscord.point_discord_py_here``, in tests
only: discord.py builds every REST URL from the class attribute ``discord.http.Route.BASE`` and
opens the gateway at ``DiscordWebSocket.DEFAULT_GATEWAY`` (2.7 no longer asks ``/gateway/bot``);
both are replaced for the test with pytest's monkeypatch (restored afterwards). There is no
public setting for either: ``proxy`` would still need TLS for discord.com, and a custom
``connector`` resolving discord.com to 127.0.0.1 would too. Product code never touches them.

What it serves:
- ``GET /api/v10/gateway`` (no token): 200, or the next status of ``outage`` while any is left.
- ``GET /api/v10/users/@me``: the bot user for ``TOKEN``, 401 for any other token (as Discord).
- ``GET /api/v10/oauth2/applications/@me``: the application (id ``APPLICATION_ID``).
- ``PUT /api/v10/applications/{id}/commands``: records the payload in ``syncs`` and echoes it.
- the gateway (``/gateway``, websocket, JSON text frames): HELLO; on IDENTIFY sets
  ``identified`` and sends READY, or closes with ``close_code`` when one is set (4014 for a
  privileged intent not enabled, 4004 for a refused token).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import discord
import pytest
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.not-a-real-token"  # base64 of APPLICATION_ID first
APPLICATION_ID = 123456789012345678
OWNER = {"id": "42", "username": "owner", "discriminator": "0", "avatar": None}
BOT_USER = {
    "id": str(APPLICATION_ID),
    "username": "trainerbot",
    "discriminator": "0",
    "avatar": None,
    "bot": True,
}


class FakeDiscord:
    """The fake, started with ``await fake.start()`` and stopped with ``await fake.close()``."""

    def __init__(self) -> None:
        self.outage: list[int] = []  # statuses for the next GET /gateway, one each
        self.syncs: list[list[dict[str, Any]]] = []
        self.logins = 0
        self.sync_status = 200
        self.close_code: int | None = None
        self.identified = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/v10/gateway", self._gateway_url)
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_put("/api/v10/applications/{app_id}/commands", self._sync)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    @property
    def api(self) -> str:
        return f"{self.url}/api/v10"

    def point_discord_py_here(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(discord.http.Route, "BASE", self.api)
        monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"{self.url}/gateway"))

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    def _authorized(request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {TOKEN}"

    @staticmethod
    def _unauthorized() -> web.Response:
        return _json({"message": "401: Unauthorized", "code": 0}, status=401)

    async def _gateway_url(self, request: web.Request) -> web.Response:
        if self.outage:
            status = self.outage.pop(0)
            return _json({"message": "unavailable", "code": 0}, status=status)
        return _json({"url": self.url.replace("http", "ws") + "/gateway"})

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        self.logins += 1
        return _json(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        return _json(
            {
                "id": str(APPLICATION_ID),
                "name": "trainerbot",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": OWNER,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _sync(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized()
        if self.sync_status != 200:
            return _json({"message": "Missing Access", "code": 50001}, status=self.sync_status)
        payload = await request.json()
        self.syncs.append(payload)
        echoed = [
            {
                **command,
                "id": str(1000 + index),
                "application_id": request.match_info["app_id"],
                "version": "1",
            }
            for index, command in enumerate(payload)
        ]
        return _json(echoed)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if data["op"] != 2:  # only IDENTIFY matters here (heartbeats are ignored)
                continue
            if data["d"]["token"] != TOKEN:
                await socket.close(code=4004, message=b"Authentication failed.")
                break
            if self.close_code is not None:
                await socket.close(code=self.close_code, message=b"Disallowed intent(s).")
                break
            await socket.send_str(json.dumps(_ready(self.url)))
            self.identified.set()
        return socket


def _json(data: Any, status: int = 200) -> web.Response:
    """As Discord sends JSON: ``Content-Type: application/json`` exactly (discord.py parses the
    body as JSON only then)."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _ready(url: str) -> dict[str, Any]:
    return {
        "op": 0,
        "s": 1,
        "t": "READY",
        "d": {
            "v": 10,
            "user": BOT_USER,
            "guilds": [],
            "session_id": "fake-session",
            "resume_gateway_url": url.replace("http", "ws") + "/gateway",
            "application": {"id": str(APPLICATION_ID), "flags": 0},
            "shard": [0, 1],
        },
    }
