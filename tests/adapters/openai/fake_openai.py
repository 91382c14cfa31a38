"""A local fake of the OpenAI HTTP API, for testing the OpenAI adapters offline.

`FakeOpenAI` is an aiohttp server bound to 127.0.0.1 on a free port. It speaks
the wire format that the official `openai` SDK parses (the shapes were taken
from the SDK's own `openai/types/...` models), keeps the state a real account
would have (uploaded files, fine-tuning jobs, models), records every request,
and can inject faults (rate limits, server errors, slowness, dropped
connections, malformed bodies) so that tests see how a client copes.

Typical use::

    server = FakeOpenAI()
    await server.start()
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    ...
    await server.stop()

Nothing here blocks the event loop: handlers only do small in-memory work and
the "slow" fault waits with `asyncio`, never with `time.sleep`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import math
import random
import re
import string
import struct
import time
import wave
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import BodyPartReader, web
from aiohttp.typedefs import Handler
from multidict import CIMultiDictProxy

JSONObject = dict[str, Any]
"""A decoded JSON object, as sent or received on the wire."""

FAULTS: Final = frozenset(
    {"rate_limit", "server_error", "slow", "drop", "permission_denied", "malformed"}
)
"""The fault names that `FakeOpenAI.inject` accepts."""

FINAL_JOB_STATUSES: Final = frozenset({"succeeded", "failed", "cancelled"})
"""Fine-tuning job statuses after which a job never changes again."""

ORGANIZATION_ID: Final = "org-test"
"""The organization that owns every job and fine-tuned model on the fake."""

MIN_TRAINING_EXAMPLES: Final = 10
"""The real service refuses fine-tuning files with fewer examples than this."""

DEFAULT_MODELS: Final[Mapping[str, Mapping[str, Any]]] = {
    "gpt-5.6-terra": {},
    "gpt-4.1-mini-2025-04-14": {"fine_tunable": True, "shutdown_date": "2027-01-14"},
    "gpt-transcribe": {},
    "gpt-4o-mini-tts": {},
    "text-embedding-3-small": {},
}
"""The models a fresh `FakeOpenAI` knows, unless the constructor is given others."""

MODEL_CREATED_AT: Final = 1_700_000_000
"""The `created` timestamp reported for models that do not carry their own."""

_TRAINING_ROLES: Final = frozenset({"system", "user", "assistant"})
_CHAT_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})
_TRANSCRIPTION_FORMATS: Final = frozenset({"json", "text", "srt", "vtt", "verbose_json"})
_SPEECH_CONTENT_TYPES: Final[Mapping[str, str]] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
_SPEECH_SAMPLE_RATE: Final = 24_000
_SPEECH_SECONDS: Final = 0.1
_MAX_SPEECH_INPUT: Final = 4096
_MAX_SUFFIX: Final = 64
_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it.

    `headers` has lower-cased names. `json` is the decoded body when it was
    JSON (None otherwise or when it did not parse). For multipart requests
    `form` holds the text fields and `file`, `filename` and
    `file_content_type` describe the part named "file".
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any | None = None
    form: dict[str, str] = field(default_factory=dict)
    file: bytes | None = None
    filename: str | None = None
    file_content_type: str | None = None
    body_is_invalid_json: bool = False

    def header(self, name: str) -> str | None:
        """Return the value of header `name` (any case), or None when absent."""
        return self.headers.get(name.lower())


_RECORDED: Final = web.RequestKey("recorded", Recorded)
"""Where the middleware leaves a request's `Recorded` for the handlers."""


@dataclass
class StoredFile:
    """A file uploaded to (or produced by) the fake, with its validation result."""

    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int
    retrievals: int = 0
    format: str | None = None
    """"chat" or "preference" for a valid fine-tuning file, else None."""
    error: str | None = None
    """Why a fine-tuning file is invalid ("line 3: not valid JSON"), or None."""
    examples: int = 0

    @property
    def processed(self) -> bool:
        """Whether a retrieve has already reported the file as processed (or failed)."""
        return self.retrievals > 1

    def wire(self, status: str) -> JSONObject:
        """The file as a `FileObject` with the given status."""
        body: JSONObject = {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": status,
            "expires_at": None,
            "status_details": self.error if status == "error" else None,
        }
        return body


@dataclass
class StoredJob:
    """A fine-tuning job: its wire object plus the events and checkpoints it has made."""

    data: JSONObject
    tag: str
    """The random part of the fine-tuned model's name, fixed when the job is created."""
    examples: int
    tokens: int
    events: list[JSONObject] = field(default_factory=list)
    """Oldest first; the events route lists them newest first."""
    checkpoints: list[JSONObject] = field(default_factory=list)
    """Oldest first; the checkpoints route lists them newest first."""
    fail: bool = False
    """Make this job fail where it would otherwise succeed."""

    @property
    def id(self) -> str:
        """The job's id ("ftjob-…")."""
        return str(self.data["id"])

    @property
    def status(self) -> str:
        """The job's current status."""
        return str(self.data["status"])


@dataclass
class _Fault:
    kind: str
    prefix: str
    remaining: int
    options: dict[str, Any]


class ApiError(Exception):
    """Raised by a handler to answer with an OpenAI error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        """The error as an HTTP response in the OpenAI error format."""
        return web.json_response(
            {
                "error": {
                    "message": self.message,
                    "type": self.type,
                    "param": self.param,
                    "code": self.code,
                }
            },
            status=self.status,
            headers=self.headers,
        )


class _Dropped(Exception):
    """Raised after the connection was aborted on purpose: nothing is to be sent."""


# --------------------------------------------------------------------------- server


class FakeOpenAI:
    """A local fake of the OpenAI API (chat, files, fine-tuning, audio, embeddings, models).

    Start it with `await start()` (or `async with FakeOpenAI() as server`),
    point an SDK client at `base_url`, and stop it with `await stop()`.

    Settable attributes:

    - `require_key`: when set, requests without `Authorization: Bearer <key>` get 401.
    - `models`: id → info; info may carry `fine_tunable`, `shutdown_date`,
      `owned_by` and `created`. Fine-tuned models are added when a job succeeds.
    - `reply`: called with the chat request body, returns the assistant's text.
    - `transcript`: the text every transcription returns.
    - `embedding_dimensions`: vector length when a request names no `dimensions`.
    - `auto_advance`: whether each job retrieve moves the job one step on.
    - `fail_jobs`: make every job fail after `running` (see also `fail_job`).
    - `next_status_override`: the next job retrieve reports this literal status,
      once, without advancing the job.
    - `require_processed_files`: refuse jobs whose files were never retrieved
      as processed (proves a client polls the file before creating a job).
    - `tokens_per_second`: how fast chat completions are written, as a slow
      model server writes them: a streamed one (`stream: true`) sends each
      token when it is written, a whole one is sent once all are; None: at once.
    - `stream_drop_after`: cut a streamed completion's connection after this
      many tokens (a server lost mid-answer); None streams to the end.

    Read-only state: `requests`, `files`, `jobs`, `faults_fired`.
    """

    def __init__(
        self,
        *,
        models: Mapping[str, Mapping[str, Any]] | None = None,
        require_key: str | None = None,
        seed: int = 0,
    ) -> None:
        """Make a stopped server; `seed` makes the generated ids reproducible."""
        source = DEFAULT_MODELS if models is None else models
        self.models: dict[str, dict[str, Any]] = {name: dict(info) for name, info in source.items()}
        self.require_key = require_key
        self.reply: Callable[[JSONObject], str] = _default_reply
        self.transcript = "hello from the fake server"
        self.embedding_dimensions = 64
        self.auto_advance = True
        self.fail_jobs = False
        self.next_status_override: str | None = None
        self.require_processed_files = False
        self.tokens_per_second: float | None = None
        self.stream_drop_after: int | None = None
        self.requests: list[Recorded] = []
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, StoredJob] = {}
        self.faults_fired = 0
        self._faults: list[_Fault] = []
        self._rng = random.Random(seed)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Bind to 127.0.0.1 on a free port and start serving."""
        if self._runner is not None:
            raise RuntimeError("FakeOpenAI is already started")
        self._stopping = asyncio.Event()
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop serving; requests still waiting in a "slow" fault are released."""
        self._stopping.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeOpenAI:
        """Start the server for an `async with` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server at the end of an `async with` block."""
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (only once started)."""
        if self._port is None:
            raise RuntimeError("FakeOpenAI is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """The URL to give the SDK as `base_url`: `http://127.0.0.1:<port>/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    # ----------------------------------------------------------------- test helpers

    def inject(self, fault: str, *, path: str = "", times: int = 1, **options: Any) -> None:
        """Make the next `times` requests whose path starts with `/v1{path}` fail with `fault`.

        Faults and their options:

        - "rate_limit": 429, `Retry-After: <retry_after>` (default "0"), code "rate_limit_exceeded".
        - "server_error": 500 (option `status`), type "server_error".
        - "slow": wait `delay` seconds (default 5), then answer normally.
        - "drop": close the connection without any response.
        - "permission_denied": 403, code "permission_denied" (option `message`).
        - "malformed": 200, content type application/json, a body that is not JSON.

        Faults fire in the order they were injected, before the API key is
        checked and after the request was recorded; each firing uses up one of
        its `times` and adds one to `faults_fired`.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULTS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(_Fault(fault, "/v1" + path, times, dict(options)))

    @property
    def pending_faults(self) -> int:
        """How many fault firings are still queued."""
        return sum(fault.remaining for fault in self._faults)

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        """The recorded requests to exactly `/v1{path}` (and `method`, when given)."""
        full = "/v1" + path
        return [
            r
            for r in self.requests
            if r.path == full and (method is None or r.method == method.upper())
        ]

    def fail_job(self, job_id: str) -> None:
        """Make one job fail at the step after `running`."""
        self._job(job_id).fail = True

    def advance(self, job_id: str, steps: int = 1) -> None:
        """Move a job `steps` steps on, as that many retrieves with `auto_advance` would."""
        job = self._job(job_id)
        for _ in range(steps):
            self._step(job)

    # ----------------------------------------------------------------- plumbing

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        add_get, add_post = app.router.add_get, app.router.add_post
        add_post("/v1/chat/completions", self._chat_completions)
        add_post("/v1/files", self._upload_file)
        add_get("/v1/files", self._list_files)
        add_get("/v1/files/{file_id}", self._retrieve_file)
        app.router.add_delete("/v1/files/{file_id}", self._delete_file)
        add_get("/v1/files/{file_id}/content", self._file_content)
        add_post("/v1/fine_tuning/jobs", self._create_job)
        add_get("/v1/fine_tuning/jobs", self._list_jobs)
        add_get("/v1/fine_tuning/jobs/{job_id}", self._retrieve_job)
        add_post("/v1/fine_tuning/jobs/{job_id}/cancel", self._cancel_job)
        add_get("/v1/fine_tuning/jobs/{job_id}/events", self._list_events)
        add_get("/v1/fine_tuning/jobs/{job_id}/checkpoints", self._list_checkpoints)
        add_post("/v1/audio/transcriptions", self._transcribe)
        add_post("/v1/audio/speech", self._speak)
        add_post("/v1/embeddings", self._embeddings)
        add_get("/v1/models", self._list_models)
        add_get("/v1/models/{model_id}", self._retrieve_model)
        return app

    @web.middleware
    async def _middleware(
        self,
        request: web.Request,
        handler: Handler,
    ) -> web.StreamResponse:
        """Record the request, fire a queued fault, check the key, then dispatch."""
        recorded = await _record(request)
        self.requests.append(recorded)
        request[_RECORDED] = recorded
        try:
            fault = self._take_fault(request.path)
            if fault is not None:
                early = await self._fire(fault, request)
                if early is not None:
                    return early
            self._check_key(request.headers)
            return await handler(request)
        except ApiError as error:
            return error.response()
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
            return ApiError(404, f"Invalid URL ({request.method} {request.path})").response()
        except _Dropped:
            # The transport is already aborted; aiohttp ignores writes to it.
            return web.Response(status=499)

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if path.startswith(fault.prefix):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                self.faults_fired += 1
                return fault
        return None

    async def _fire(self, fault: _Fault, request: web.Request) -> web.StreamResponse | None:
        """Act out a fault; return a response to send, or None to go on normally."""
        options = fault.options
        if fault.kind == "rate_limit":
            retry_after = str(options.get("retry_after", "0"))
            raise ApiError(
                429,
                options.get(
                    "message",
                    f"Rate limit reached for requests on organization {ORGANIZATION_ID}. "
                    f"Please try again in {retry_after}s.",
                ),
                type_="requests",
                code="rate_limit_exceeded",
                headers={"Retry-After": retry_after},
            )
        if fault.kind == "server_error":
            raise ApiError(
                int(options.get("status", 500)),
                options.get(
                    "message",
                    "The server had an error while processing your request. Sorry about that!",
                ),
                type_="server_error",
            )
        if fault.kind == "permission_denied":
            raise ApiError(
                403,
                options.get(
                    "message",
                    "You are not allowed to create fine-tuning jobs on this project.",
                ),
                code="permission_denied",
            )
        if fault.kind == "malformed":
            return web.Response(
                status=200,
                body=options.get("body", b'{"id": "broken'),
                content_type="application/json",
            )
        if fault.kind == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), float(options.get("delay", 5)))
            return None
        # "drop": abort the connection without a status line.
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise _Dropped

    def _check_key(self, headers: CIMultiDictProxy[str]) -> None:
        if self.require_key is None:
            return
        if headers.get("Authorization") != f"Bearer {self.require_key}":
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")

    def _job(self, job_id: str) -> StoredJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, f"Could not find fine-tune: {job_id}", param="fine_tune_id", code=None
            )
        return job

    def _file(self, file_id: str, *, param: str = "file_id") -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(404, f"No such File object: {file_id}", param=param)
        return stored

    def _known_model(self, body: JSONObject) -> str:
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "You must provide a model parameter.", param="model")
        if model not in self.models:
            raise ApiError(
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                code="model_not_found",
            )
        return model

    def _new_id(self, prefix: str, length: int = 24) -> str:
        alphabet = string.ascii_letters + string.digits
        return prefix + "".join(self._rng.choice(alphabet) for _ in range(length))

    # ----------------------------------------------------------------- chat

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = _json_object(request)
        model = self._known_model(body)
        stream = body.get("stream")
        if stream is not None and not isinstance(stream, bool):
            raise ApiError(
                400, f"Invalid 'stream': {stream!r}. Expected a boolean.", param="stream"
            )
        _check_chat_messages(body.get("messages"))
        temperature = body.get("temperature")
        if temperature is not None and (not _is_number(temperature) or not 0 <= temperature <= 2):
            raise ApiError(
                400,
                f"Invalid 'temperature': {temperature!r}. Expected a number from 0 to 2.",
                param="temperature",
                code="decimal_above_max_value",
            )
        limit = None
        for name in ("max_completion_tokens", "max_tokens"):
            value = body.get(name)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ApiError(
                    400, f"Invalid '{name}': expected an integer of at least 1.", param=name
                )
            limit = value if limit is None else min(limit, value)
        text = self.reply(body)
        finish_reason = "stop"
        words = text.split()
        if limit is not None and len(words) > limit:
            text, finish_reason = " ".join(words[:limit]), "length"
        if stream:
            return await self._stream_chat(request, model, text, finish_reason)
        if self.tokens_per_second:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stopping.wait(), len(stream_tokens(text)) / self.tokens_per_second
                )
        prompt_tokens = sum(_count_words(_content_text(m.get("content"))) for m in body["messages"])
        completion_tokens = _count_words(text)
        return web.json_response(
            {
                "id": self._new_id("chatcmpl-"),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": text,
                            "refusal": None,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "service_tier": "default",
                "system_fingerprint": None,
            }
        )

    async def _stream_chat(
        self, request: web.Request, model: str, text: str, finish_reason: str
    ) -> web.StreamResponse:
        """The completion as server-sent events, the way the real API streams it: a first
        chunk with the role, one chunk per token (here: a word with the spaces before it) at
        `tokens_per_second`, a last chunk with the finish reason, then `data: [DONE]`.
        With `stream_drop_after` set, the connection is cut after that many tokens."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        completion_id = self._new_id("chatcmpl-")
        created = int(time.time())

        async def event(delta: JSONObject, finish: str | None = None) -> None:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await event({"role": "assistant", "content": "", "refusal": None})
        rate = self.tokens_per_second
        for count, token in enumerate(stream_tokens(text)):
            if self.stream_drop_after is not None and count == self.stream_drop_after:
                if request.transport is not None:
                    request.transport.abort()
                return response
            if rate:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0 / rate)
            await event({"content": token})
        await event({}, finish_reason)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    # ----------------------------------------------------------------- files

    async def _upload_file(self, request: web.Request) -> web.Response:
        recorded: Recorded = request[_RECORDED]
        if recorded.file is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        purpose = recorded.form.get("purpose")
        if not purpose:
            raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
        stored = StoredFile(
            id=self._new_id("file-"),
            filename=recorded.filename or "upload",
            purpose=purpose,
            content=recorded.file,
            created_at=int(time.time()),
        )
        if purpose == "fine-tune":
            stored.format, stored.error, stored.examples = validate_fine_tuning_file(recorded.file)
        self.files[stored.id] = stored
        return web.json_response(stored.wire("uploaded"))

    async def _retrieve_file(self, request: web.Request) -> web.Response:
        stored = self._file(request.match_info["file_id"])
        stored.retrievals += 1
        return web.json_response(stored.wire(_settled_status(stored)))

    async def _list_files(self, request: web.Request) -> web.Response:
        purpose = request.query.get("purpose")
        newest_first = [f for f in reversed(self.files.values()) if purpose in (None, f.purpose)]
        if request.query.get("order") == "asc":
            newest_first.reverse()
        items = [f.wire(_settled_status(f)) for f in newest_first]
        return web.json_response(_page(items, request.query, default_limit=10_000, ids=True))

    async def _delete_file(self, request: web.Request) -> web.Response:
        stored = self._file(request.match_info["file_id"])
        del self.files[stored.id]
        return web.json_response({"id": stored.id, "object": "file", "deleted": True})

    async def _file_content(self, request: web.Request) -> web.Response:
        stored = self._file(request.match_info["file_id"])
        return web.Response(body=stored.content, content_type="application/octet-stream")

    # ----------------------------------------------------------------- fine-tuning

    async def _create_job(self, request: web.Request) -> web.Response:
        body = _json_object(request)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError(400, "Missing required parameter: 'model'.", param="model")
        training_id = body.get("training_file")
        if not isinstance(training_id, str) or not training_id:
            raise ApiError(
                400, "Missing required parameter: 'training_file'.", param="training_file"
            )
        if not self.models.get(model, {}).get("fine_tunable"):
            raise ApiError(
                400,
                f"Model {model} is not available for fine-tuning or does not exist.",
                param="model",
                code="model_not_available",
            )
        training = self._usable_training_file(training_id, "training_file")
        validation_id = body.get("validation_file")
        if validation_id is not None:
            if not isinstance(validation_id, str):
                raise ApiError(400, "Invalid 'validation_file'.", param="validation_file")
            validation = self._usable_training_file(validation_id, "validation_file")
            if validation.format != training.format:
                raise ApiError(
                    400,
                    f"Validation file {validation_id} is in the {validation.format} format, "
                    f"but the training file is in the {training.format} format.",
                    param="validation_file",
                    code="invalid_validation_file",
                )
        method = _job_method(body.get("method"))
        needed = "preference" if method["type"] == "dpo" else "chat"
        if training.format != needed:
            raise ApiError(
                400,
                f"Training file {training_id} is in the {training.format} format, "
                f"but method '{method['type']}' needs the {needed} format.",
                param="training_file",
                code="invalid_training_file",
            )
        suffix = body.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or len(suffix) > _MAX_SUFFIX):
            raise ApiError(
                400, f"Invalid 'suffix': at most {_MAX_SUFFIX} characters.", param="suffix"
            )
        seed = body.get("seed")
        if seed is None:
            seed = self._rng.randrange(2**31)
        elif not isinstance(seed, int) or isinstance(seed, bool):
            raise ApiError(400, "Invalid 'seed': expected an integer.", param="seed")
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values())
        ):
            raise ApiError(400, "Invalid 'metadata': expected string values.", param="metadata")
        now = int(time.time())
        job = StoredJob(
            data={
                "id": self._new_id("ftjob-"),
                "object": "fine_tuning.job",
                "created_at": now,
                "error": None,
                "fine_tuned_model": None,
                "finished_at": None,
                "hyperparameters": _hyperparameters(body, method),
                "model": model,
                "organization_id": ORGANIZATION_ID,
                "result_files": [],
                "seed": seed,
                "status": "validating_files",
                "trained_tokens": None,
                "training_file": training_id,
                "validation_file": validation_id,
                "estimated_finish": None,
                "integrations": None,
                "metadata": metadata,
                "method": method,
                "user_provided_suffix": suffix,
            },
            tag="".join(self._rng.choice(string.ascii_lowercase + string.digits) for _ in range(6)),
            examples=training.examples,
            tokens=max(1, len(training.content) // 4),
        )
        self.jobs[job.id] = job
        self._event(job, f"Validating training file: {training_id}")
        if validation_id is not None:
            self._event(job, f"Validating validation file: {validation_id}")
        self._event(job, f"Created fine-tuning job: {job.id}")
        return web.json_response(job.data)

    def _usable_training_file(self, file_id: str, param: str) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError(
                400, f"Invalid file ID: {file_id} does not exist.", param=param, code="invalid_file"
            )
        if stored.purpose != "fine-tune":
            raise ApiError(
                400,
                f"File {file_id} has purpose '{stored.purpose}', but fine-tuning needs 'fine-tune'.",
                param=param,
                code="invalid_file_purpose",
            )
        if self.require_processed_files and not stored.processed:
            raise ApiError(
                400,
                f"File {file_id} is still being processed and is not ready for fine-tuning.",
                param=param,
                code="file_not_ready",
            )
        if stored.error is not None:
            raise ApiError(
                400,
                f"Invalid file {file_id}: {stored.error}",
                param=param,
                code=f"invalid_{param}",
            )
        return stored

    async def _retrieve_job(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["job_id"])
        if self.next_status_override is not None:
            shown = dict(job.data, status=self.next_status_override)
            self.next_status_override = None
            return web.json_response(shown)
        if self.auto_advance:
            self._step(job)
        return web.json_response(job.data)

    async def _list_jobs(self, request: web.Request) -> web.Response:
        newest_first = list(reversed(self.jobs.values()))
        return web.json_response(_page([j.data for j in newest_first], request.query))

    async def _list_events(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["job_id"])
        return web.json_response(_page(list(reversed(job.events)), request.query))

    async def _list_checkpoints(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["job_id"])
        return web.json_response(
            _page(list(reversed(job.checkpoints)), request.query, default_limit=10, ids=True)
        )

    async def _cancel_job(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["job_id"])
        if job.status in FINAL_JOB_STATUSES:
            raise ApiError(
                400, f"Job {job.id} is already {job.status} and cannot be cancelled.", code=None
            )
        job.data.update(status="cancelled", estimated_finish=None)
        self._event(job, "Fine-tuning job cancelled")
        return web.json_response(job.data)

    def _step(self, job: StoredJob) -> None:
        """Move a job one status on: validating_files → queued → running → succeeded|failed."""
        status = job.status
        now = int(time.time())
        if status == "validating_files":
            job.data["status"] = "queued"
            self._event(job, "Files validated, moving job to queued state")
        elif status == "queued":
            hyper = job.data["hyperparameters"]
            for name, resolved in (
                ("n_epochs", 3),
                ("batch_size", 1),
                ("learning_rate_multiplier", 1.8),
            ):
                if hyper.get(name) == "auto":
                    hyper[name] = resolved
            job.data.update(status="running", estimated_finish=now + 60)
            self._event(job, "Fine-tuning job started")
            self._checkpoint(job, step=self._total_steps(job) // 2 or 1)
        elif status == "running":
            job.data.update(finished_at=now, estimated_finish=None)
            if job.fail or self.fail_jobs:
                message = "The job failed due to an invalid training file."
                job.data.update(
                    status="failed",
                    error={"code": "invalid_training_file", "message": message, "param": None},
                )
                self._event(job, f"Fine-tuning job failed: {message}", level="error")
                return
            self._succeed(job, now)

    def _succeed(self, job: StoredJob, now: int) -> None:
        model = self._fine_tuned_name(job)
        checkpoint = self._checkpoint(job, step=self._total_steps(job))
        results = StoredFile(
            id=self._new_id("file-"),
            filename="step_metrics.csv",
            purpose="fine-tune-results",
            content=_results_csv(job),
            created_at=now,
            retrievals=1,
        )
        self.files[results.id] = results
        job.data.update(
            status="succeeded",
            fine_tuned_model=model,
            trained_tokens=job.tokens * _epochs(job),
            result_files=[results.id],
        )
        self.models[model] = {
            "fine_tunable": True,
            "owned_by": ORGANIZATION_ID,
            "created": now,
        }
        self._event(job, f"Checkpoint created at step {checkpoint['step_number']}")
        self._event(job, f"New fine-tuned model created: {model}")
        self._event(job, "The job has successfully completed")

    def _fine_tuned_name(self, job: StoredJob) -> str:
        suffix = job.data.get("user_provided_suffix")
        parts = ["ft", str(job.data["model"]), ORGANIZATION_ID]
        if suffix:
            parts.append(str(suffix))
        parts.append(job.tag)
        return ":".join(parts)

    def _total_steps(self, job: StoredJob) -> int:
        batch = job.data["hyperparameters"].get("batch_size")
        batch = batch if isinstance(batch, int) and batch > 0 else 1
        return max(1, math.ceil(job.examples / batch) * _epochs(job))

    def _event(self, job: StoredJob, message: str, *, level: str = "info") -> None:
        job.events.append(
            {
                "id": self._new_id("ftevent-"),
                "object": "fine_tuning.job.event",
                "created_at": int(time.time()),
                "level": level,
                "message": message,
                "type": "message",
                "data": {},
            }
        )

    def _checkpoint(self, job: StoredJob, *, step: int) -> JSONObject:
        progress = step / self._total_steps(job)
        loss = round(1.2 - 0.8 * progress, 4)
        accuracy = round(0.5 + 0.4 * progress, 4)
        checkpoint: JSONObject = {
            "id": self._new_id("ftckpt-"),
            "object": "fine_tuning.job.checkpoint",
            "created_at": int(time.time()),
            "fine_tuned_model_checkpoint": f"{self._fine_tuned_name(job)}:ckpt-step-{step}",
            "fine_tuning_job_id": job.id,
            "metrics": {
                "step": float(step),
                "train_loss": loss,
                "train_mean_token_accuracy": accuracy,
                "valid_loss": round(loss + 0.05, 4),
                "valid_mean_token_accuracy": round(accuracy - 0.02, 4),
                "full_valid_loss": round(loss + 0.06, 4),
                "full_valid_mean_token_accuracy": round(accuracy - 0.03, 4),
            },
            "step_number": step,
        }
        job.checkpoints.append(checkpoint)
        return checkpoint

    # ----------------------------------------------------------------- audio

    async def _transcribe(self, request: web.Request) -> web.Response:
        recorded: Recorded = request[_RECORDED]
        if recorded.file is None:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file")
        self._known_model(dict(recorded.form))
        if not recorded.file:
            raise ApiError(
                400,
                "Audio file is too short. Minimum audio length is 0.1 seconds.",
                param="file",
                code="audio_too_short",
            )
        response_format = recorded.form.get("response_format", "json")
        if response_format not in _TRANSCRIPTION_FORMATS:
            raise ApiError(
                400, f"Invalid 'response_format': {response_format!r}.", param="response_format"
            )
        text = self.transcript
        if response_format == "text":
            return web.Response(text=text, content_type="text/plain")
        if response_format == "srt":
            return web.Response(
                text=f"1\n00:00:00,000 --> 00:00:01,000\n{text}\n\n", content_type="text/plain"
            )
        if response_format == "vtt":
            return web.Response(
                text=f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n{text}\n\n",
                content_type="text/plain",
            )
        if response_format == "verbose_json":
            return web.json_response(
                {
                    "task": "transcribe",
                    "language": recorded.form.get("language", "english"),
                    "duration": 1.0,
                    "text": text,
                    "segments": [],
                }
            )
        return web.json_response({"text": text})

    async def _speak(self, request: web.Request) -> web.Response:
        body = _json_object(request)
        self._known_model(body)
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Invalid 'input': the input must not be empty.", param="input")
        if len(text) > _MAX_SPEECH_INPUT:
            raise ApiError(
                400,
                f"Invalid 'input': at most {_MAX_SPEECH_INPUT} characters.",
                param="input",
                code="string_above_max_length",
            )
        voice = body.get("voice")
        if not (isinstance(voice, str) and voice) and not (
            isinstance(voice, dict) and isinstance(voice.get("id"), str)
        ):
            raise ApiError(400, "Missing required parameter: 'voice'.", param="voice")
        audio_format = body.get("response_format", "mp3")
        if audio_format not in _SPEECH_CONTENT_TYPES:
            raise ApiError(
                400, f"Invalid 'response_format': {audio_format!r}.", param="response_format"
            )
        speed = body.get("speed")
        if speed is not None and (not _is_number(speed) or not 0.25 <= speed <= 4.0):
            raise ApiError(400, "Invalid 'speed': expected 0.25 to 4.0.", param="speed")
        return web.Response(
            body=silent_audio(audio_format),
            content_type=_SPEECH_CONTENT_TYPES[audio_format],
        )

    # ----------------------------------------------------------------- embeddings

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = _json_object(request)
        model = self._known_model(body)
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else raw
        if (
            not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t for t in texts)
        ):
            raise ApiError(
                400,
                "Invalid 'input': expected a non-empty string or a non-empty list of them.",
                param="input",
            )
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise ApiError(
                400, f"Invalid 'encoding_format': {encoding!r}.", param="encoding_format"
            )
        dimensions = body.get("dimensions", self.embedding_dimensions)
        if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
            raise ApiError(
                400, "Invalid 'dimensions': expected a positive integer.", param="dimensions"
            )
        data = []
        for index, text in enumerate(texts):
            vector = embed(text, dimensions)
            encoded: list[float] | str = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
                if encoding == "base64"
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(_count_words(t) for t in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # ----------------------------------------------------------------- models

    async def _list_models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [self._model_wire(m) for m in self.models]}
        )

    async def _retrieve_model(self, request: web.Request) -> web.Response:
        model_id = request.match_info["model_id"]
        if model_id not in self.models:
            raise ApiError(
                404,
                f"The model '{model_id}' does not exist",
                param="model",
                code="model_not_found",
            )
        return web.json_response(self._model_wire(model_id))

    def _model_wire(self, model_id: str) -> JSONObject:
        info = self.models[model_id]
        wire: JSONObject = {
            "id": model_id,
            "object": "model",
            "created": info.get("created", MODEL_CREATED_AT),
            "owned_by": info.get("owned_by", "system"),
        }
        if "shutdown_date" in info:
            wire["shutdown_date"] = info["shutdown_date"]
        return wire


# --------------------------------------------------------------------------- helpers


_TOKEN: Final = re.compile(r"\s*\S+|\s+$")


def stream_tokens(text: str) -> list[str]:
    """How a streamed completion sends `text`: each word with the spaces before it (and the
    trailing spaces last); joined, they give `text` back."""
    return _TOKEN.findall(text)


def _default_reply(body: JSONObject) -> str:
    """The default chat reply: "reply to: " and the last user message's text."""
    messages = body.get("messages") or []
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return "reply to: " + _content_text(message.get("content"))
    return "reply to: "


async def _record(request: web.Request) -> Recorded:
    """Read the whole request (JSON or multipart) into a `Recorded`."""
    recorded = Recorded(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers={name.lower(): value for name, value in request.headers.items()},
    )
    if request.content_type.startswith("multipart/"):
        form: dict[str, str] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is not None or part.name == "file":
                recorded = dataclasses.replace(
                    recorded,
                    file=bytes(await part.read()),
                    filename=part.filename,
                    file_content_type=part.headers.get("Content-Type"),
                )
            else:
                form[part.name] = await part.text()
        return dataclasses.replace(recorded, form=form)
    raw = await request.read()
    if not raw:
        return recorded
    try:
        decoded = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return dataclasses.replace(recorded, body_is_invalid_json=True)
    return dataclasses.replace(recorded, json=decoded)


def _json_object(request: web.Request) -> JSONObject:
    """The request's JSON body as an object, or a 400 like the real service's."""
    recorded: Recorded = request[_RECORDED]
    if recorded.body_is_invalid_json:
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means "
            "you aren't using your HTTP library correctly.)",
        )
    if not isinstance(recorded.json, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return recorded.json


def _check_chat_messages(messages: object) -> None:
    if not isinstance(messages, list) or not messages:
        raise ApiError(
            400,
            "Invalid 'messages': expected a non-empty array of messages.",
            param="messages",
            code="empty_array" if isinstance(messages, list) else None,
        )
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise ApiError(400, f"Invalid '{where}': expected an object.", param=where)
        if message.get("role") not in _CHAT_ROLES:
            raise ApiError(
                400,
                f"Invalid value for '{where}.role': {message.get('role')!r}.",
                param=f"{where}.role",
            )
        content = message.get("content")
        allowed_none = message.get("role") == "assistant" and "tool_calls" in message
        if not isinstance(content, str | list) and not (content is None and allowed_none):
            raise ApiError(
                400,
                f"Invalid '{where}.content': expected a string or an array of parts.",
                param=f"{where}.content",
            )


def _content_text(content: object) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _count_words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _page(
    items: list[JSONObject],
    query: Mapping[str, str],
    *,
    default_limit: int = 20,
    ids: bool = False,
) -> JSONObject:
    """A cursor page over `items`: `limit` items after the one whose id is `after`.

    The SDK's cursor pages need only `data` and `has_more` (the next request's
    `after` is the last item's id); `first_id`/`last_id` are added where the
    real routes have them.
    """
    raw_limit = query.get("limit")
    limit = default_limit
    if raw_limit is not None:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= 10_000:
            raise ApiError(400, f"Invalid 'limit': {raw_limit!r}.", param="limit")
    start = 0
    after = query.get("after")
    if after:
        positions = [i for i, item in enumerate(items) if item.get("id") == after]
        start = positions[0] + 1 if positions else len(items)
    chunk = items[start : start + limit]
    page: JSONObject = {"object": "list", "data": chunk, "has_more": start + limit < len(items)}
    if ids:
        page["first_id"] = chunk[0]["id"] if chunk else None
        page["last_id"] = chunk[-1]["id"] if chunk else None
    return page


def _settled_status(stored: StoredFile) -> str:
    if not stored.processed:
        return "uploaded"
    return "error" if stored.error is not None else "processed"


def _job_method(method: object) -> JSONObject:
    if method is None:
        return {"type": "supervised"}
    if not isinstance(method, dict) or method.get("type") not in (
        "supervised",
        "dpo",
        "reinforcement",
    ):
        raise ApiError(
            400,
            "Invalid 'method.type': expected 'supervised', 'dpo' or 'reinforcement'.",
            param="method.type",
        )
    if method["type"] == "reinforcement":
        raise ApiError(
            400, "The fake server does not support reinforcement fine-tuning.", param="method.type"
        )
    return method


def _hyperparameters(body: JSONObject, method: JSONObject) -> JSONObject:
    """The job's hyperparameters: what was asked for, "auto" for the rest."""
    asked: JSONObject = {}
    legacy = body.get("hyperparameters")
    if isinstance(legacy, dict):
        asked.update(legacy)
    details = method.get(str(method["type"]))
    if isinstance(details, dict) and isinstance(details.get("hyperparameters"), dict):
        asked.update(details["hyperparameters"])
    return {
        name: asked.get(name, "auto")
        for name in ("batch_size", "learning_rate_multiplier", "n_epochs")
    }


def _epochs(job: StoredJob) -> int:
    epochs = job.data["hyperparameters"].get("n_epochs")
    return epochs if isinstance(epochs, int) and epochs > 0 else 3


def _results_csv(job: StoredJob) -> bytes:
    lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
    for checkpoint in job.checkpoints:
        m = checkpoint["metrics"]
        lines.append(
            f"{checkpoint['step_number']},{m['train_loss']},{m['train_mean_token_accuracy']},"
            f"{m['valid_loss']},{m['valid_mean_token_accuracy']}"
        )
    return ("\n".join(lines) + "\n").encode()


# --------------------------------------------------------------------------- validation


def validate_fine_tuning_file(content: bytes) -> tuple[str | None, str | None, int]:
    """Check a fine-tuning JSONL file the way the real service does.

    Returns `(format, error, examples)`: format is "chat" or "preference" (None
    when invalid), error names the first problem ("line 3: not valid JSON",
    "training file has 4 examples, but must have at least 10") or is None.
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None, "file is not valid UTF-8", 0
    file_format: str | None = None
    examples = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            example = json.loads(line)
        except json.JSONDecodeError:
            return None, f"line {number}: not valid JSON", examples
        line_format, problem = _example_format(example)
        if problem is not None:
            return None, f"line {number}: {problem}", examples
        if file_format is not None and line_format != file_format:
            return None, f"line {number}: mixes {line_format} and {file_format} examples", examples
        file_format = line_format
        examples += 1
    if examples < MIN_TRAINING_EXAMPLES:
        return (
            None,
            f"training file has {examples} examples, but must have at least {MIN_TRAINING_EXAMPLES}",
            examples,
        )
    return file_format, None, examples


def _example_format(example: object) -> tuple[str | None, str | None]:
    """Return ("chat" | "preference", None) for a valid example, else (None, problem)."""
    if not isinstance(example, dict):
        return None, "expected a JSON object"
    if "messages" in example:
        problem = _training_messages_problem(example["messages"], "messages")
        if problem is None and not any(m.get("role") == "assistant" for m in example["messages"]):
            problem = "no assistant message"
        return ("chat", None) if problem is None else (None, problem)
    if "input" in example or "preferred_output" in example:
        source = example.get("input")
        if not isinstance(source, dict):
            return None, "'input' must be an object with 'messages'"
        problem = _training_messages_problem(source.get("messages"), "input.messages")
        for key in ("preferred_output", "non_preferred_output"):
            if problem is None:
                problem = _training_messages_problem(example.get(key), key)
            if problem is None and any(m.get("role") != "assistant" for m in example[key]):
                problem = f"'{key}' must hold only assistant messages"
        return ("preference", None) if problem is None else (None, problem)
    return (
        None,
        "expected 'messages' (chat format) or 'input' and 'preferred_output' (preference format)",
    )


def _training_messages_problem(messages: object, where: str) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"'{where}' must be a non-empty list"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"{where}[{index}] is not an object"
        if message.get("role") not in _TRAINING_ROLES:
            return f"{where}[{index}] has an invalid role {message.get('role')!r}"
        if not isinstance(message.get("content"), str):
            return f"{where}[{index}] content must be a string"
    return None


# --------------------------------------------------------------------------- embeddings


def embed(text: str, dimensions: int = 64) -> list[float]:
    """A deterministic, L2-normalised, signed hashed bag of the text's lower-case words.

    Texts sharing words have a positive cosine similarity; texts sharing none
    are close to orthogonal.
    """
    vector = [0.0] * dimensions
    words = _WORD.findall(text.lower()) or [text]
    for word in words:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        vector[bucket] += 1.0 if digest[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        vector[0], norm = 1.0, 1.0
    return [v / norm for v in vector]


# --------------------------------------------------------------------------- audio


def silent_audio(audio_format: str) -> bytes:
    """A short, silent, structurally plausible file in `audio_format`."""
    samples = int(_SPEECH_SAMPLE_RATE * _SPEECH_SECONDS)
    if audio_format == "wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(_SPEECH_SAMPLE_RATE)
            out.writeframes(b"\x00\x00" * samples)
        return buffer.getvalue()
    if audio_format == "pcm":
        return b"\x00\x00" * samples
    if audio_format == "opus":
        return _ogg_opus_header()
    if audio_format == "flac":
        return _flac_header()
    if audio_format == "aac":
        payload = bytes(8)
        frame_length = 7 + len(payload)
        fields = (1 << 38) | (6 << 34) | (1 << 30) | (frame_length << 13) | (0x7FF << 2)
        return (b"\xff\xf1" + fields.to_bytes(5, "big") + payload) * 4
    # mp3: MPEG-1 layer III, 128 kbit/s, 44.1 kHz, mono; all-zero side info is silence.
    return (b"\xff\xfb\x90\xc4" + bytes(413)) * 4


def _flac_header() -> bytes:
    """ "fLaC" and a STREAMINFO block for an empty 24 kHz mono 16-bit stream."""
    packed = (_SPEECH_SAMPLE_RATE << 44) | (0 << 41) | (15 << 36)
    streaminfo = (
        struct.pack(">HH", 4096, 4096) + bytes(3) + bytes(3) + packed.to_bytes(8, "big") + bytes(16)
    )
    return b"fLaC" + bytes([0x80]) + len(streaminfo).to_bytes(3, "big") + streaminfo


def _ogg_crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


_OGG_CRC_TABLE: Final = _ogg_crc_table()


def _ogg_page(packet: bytes, *, sequence: int, header_type: int) -> bytes:
    """One Ogg page holding `packet`, with a correct CRC."""
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = (
        b"OggS"
        + struct.pack("<BBqII", 0, header_type, 0, 0x46414B45, sequence)
        + bytes(4)
        + bytes([len(lacing)])
        + bytes(lacing)
    )
    page = bytearray(header + packet)
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _OGG_CRC_TABLE[((crc >> 24) & 0xFF) ^ byte]
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


def _ogg_opus_header() -> bytes:
    """The two header pages of an Ogg Opus stream (OpusHead, OpusTags), no audio."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, _SPEECH_SAMPLE_RATE, 0, 0)
    vendor = b"fake-openai"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    return _ogg_page(head, sequence=0, header_type=2) + _ogg_page(tags, sequence=1, header_type=0)
