"""Reading training and test data in every supported format, and the validation report.

Formats (chosen by file extension; without a file name, sniffed from the content):

- ``.jsonl`` — one JSON object a line, in any of these shapes:
  * OpenAI chat: ``{"messages": [{"role": ..., "content": ...}, ...]}``. The prompt is every message
    before the *last* assistant message; that message's content is the completion. Messages after it
    are ignored (nothing would learn from them). An assistant message with ``"weight": 0`` is one
    OpenAI does not train on, so the completion is the last assistant message not weighted 0.
  * OpenAI preference (DPO): ``{"input": {"messages": [...]}, "preferred_output": [assistant],
    "non_preferred_output": [assistant]}`` → an example whose ``rejected`` is the non-preferred answer.
  * prompt/completion: ``{"prompt": "...", "completion": "..."}`` (also ``input``/``output`` and
    ``question``/``answer``; ``prompt`` may be a list of messages, as ``Example.to_dict`` writes it,
    with optional ``rejected``, ``wanted`` and ``origin``) → a single-turn chat example.
  * text/label: ``{"text": "...", "label": "..."}`` → a classification example (integer labels are
    read as their decimal text).
- ``.json`` — an array of such objects, one such object, or an object mapping each input string to
  its expected answer (the original bot's ``!test`` data). Problems name the 1-based item, not a line.
- ``.csv`` — a header row with ``prompt,completion`` (or ``input,output``, ``question,answer``) or
  ``text,label`` columns, case-insensitive; other columns are ignored; problems name the CSV line.
- ``.txt``, ``.md`` or no extension — plain text: one document a non-blank line, or with
  ``document_per_file`` the whole text as one document. Plain text carries no label, so it needs the
  ``positive`` flag: ``True`` labels every document POSITIVE, ``False`` NEGATIVE, ``None`` is a problem
  (unlabelled text teaches nothing) — except in a folder, where documents in a subfolder take the
  subfolder's name as their label (``reviews/negative/a.txt`` → ``negative``). A ``.txt`` file
  whose content is unmistakably JSON Lines, JSON or CSV with a known header is read as that (a long
  message pasted into Discord arrives as ``message.txt``), unless ``document_per_file`` is set.

Sniffing without a file name: first non-blank character ``{`` → an object of answers when the whole
text is one JSON object with no example keys, else JSON Lines when every non-blank line parses, else
one JSON object when the whole text parses, else JSON Lines (so each bad line is reported); ``[`` →
a JSON array; a first line that is a CSV header with known columns → CSV; anything else → plain text.

Checks follow OpenAI's fine-tuning data-preparation script: each line that fails one is reported
with its 1-based line number and produces no example. Allowed roles are system, user and assistant;
allowed message keys are role, content, name and weight (0 or 1); allowed top-level chat keys are
messages, tools, parallel_tool_calls and wanted.

The ``positive`` flag: on chat-like examples (chat, prompt/completion, preference) ``False`` marks
them ``wanted=False`` — what not to say; on labelled data (text/label) it is ignored. A dataset is a
classification dataset when every example is labelled (text/label or plain text), a chat dataset
otherwise; mixing both kinds is a problem.

The validation report (``validate``) adds what needs the whole dataset: too few examples, one label,
duplicates, leakage between the train and test parts, and — given a ``TokenCheck`` — token counts,
examples over the model's token limit (a problem on their line) and the cost estimate
(``trainerbot.core.tokens``). ``validate_stream`` gives the same report for a JSON Lines file read
line by line, with the same per-record checks, in memory that does not hold the file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import string
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .entities import (
    NEGATIVE,
    POSITIVE,
    TEST_SHARE_PERCENT,
    ChatMessage,
    Dataset,
    Example,
    Role,
    Task,
)
from .errors import DatasetError
from .text import plural
from .tokens import BillingEstimate, TokenCheck, TokenStats, TokenSurvey

NEEDS_LABEL = (
    "plain text needs positive=true or positive=false to label it "
    "(or, in a folder, subfolders named after the labels)"
)
MIXED_KINDS = "mixes labelled and chat examples"
UNSUPPORTED_FILE = "skipped: unsupported file type"
NOT_UTF8 = "not UTF-8 text"

_JSONL, _JSON, _CSV, _TEXT = "jsonl", "json", "csv", "text"
_BY_EXTENSION = {
    ".jsonl": _JSONL,
    ".json": _JSON,
    ".csv": _CSV,
    ".txt": _TEXT,
    ".md": _TEXT,
    "": _TEXT,
}

_LABELLED, _CHAT = "labelled", "chat"

_ROLES = frozenset(role.value for role in Role)
_ROLE_OF = {role.value: role for role in Role}
_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
_CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "wanted"})
_PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output", "wanted"})
_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
_LABELLED_KEYS = frozenset({"text", "label"})
# Extra keys of the prompt/completion shape: what ``Example.to_dict`` writes besides the pair.
_PAIR_EXTRA_KEYS = frozenset({"rejected", "wanted", "origin"})
_PAIRS = (("prompt", "completion"), ("input", "output"), ("question", "answer"))


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where (line, file) and what, in words a user can act on.

    ``line`` is 1-based, or ``None`` when the problem is not on one line (JSON items name their
    index in the message instead). ``source`` is the file name for folder datasets.
    """

    line: int | None
    message: str
    source: str = ""

    def __str__(self) -> str:
        # A file name may hold anything a filesystem allows: a line break is shown escaped.
        source = self.source if self.source.isprintable() else repr(self.source)
        where = " ".join(
            part for part in (source, "" if self.line is None else f"line {self.line}") if part
        )
        return f"{where}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ParseResult:
    """The examples read from an input, every problem found in it, and the task they teach."""

    examples: tuple[Example, ...]
    problems: tuple[Problem, ...]
    task: Task


@dataclass
class _Collector:
    """Accumulates what one or more inputs produce, before the task is decided."""

    examples: list[Example] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    unlabelled_text: bool = False

    def merge(self, other: _Collector, source: str) -> None:
        self.examples.extend(other.examples)
        self.problems.extend(replace(p, source=source) for p in other.problems)
        self.kinds |= other.kinds
        self.unlabelled_text = self.unlabelled_text or other.unlabelled_text

    def finish(self) -> ParseResult:
        problems = [*self.problems, *self.closing_problems()]
        return ParseResult(tuple(self.examples), tuple(problems), self.task)

    def closing_problems(self) -> list[Problem]:
        """The problems of the input as a whole, known once all of it is read."""
        problems: list[Problem] = []
        if self.unlabelled_text:
            problems.append(Problem(None, NEEDS_LABEL))
        if {_LABELLED, _CHAT} <= self.kinds:
            problems.append(Problem(None, MIXED_KINDS))
        return problems

    @property
    def task(self) -> Task:
        return Task.CLASSIFICATION if self.kinds == {_LABELLED} else Task.CHAT


# --- entry points ----------------------------------------------------------------------------


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text (a byte-order mark is dropped); raises ``DatasetError`` otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{_shown([name], width=80)} is not UTF-8 text") from None


def parse_text(
    text: str,
    *,
    filename: str | None = None,
    positive: bool | None = None,
    document_per_file: bool = False,
) -> ParseResult:
    """Read examples from ``text``, in the format its file name or content says (module docstring).

    Never raises for bad data: every problem is in the result, with its line or item number.
    """
    return _parse(text, filename, positive, document_per_file).finish()


def parse_files(files: Sequence[tuple[str, bytes]], *, positive: bool | None) -> ParseResult:
    """Read a workspace folder: ``(file name, bytes)`` pairs, each file parsed by its extension.

    Files are read in name order, so the dataset (and its version) does not depend on the order a
    listing returns. ``.txt``/``.md`` files are one document each; without ``positive``, those in a
    subfolder are labelled with the subfolder's name (``negative/a.txt`` → ``negative``). A file
    with another extension is reported ("skipped: unsupported file type") and so is one that is not
    UTF-8; the other files are still read. Hidden files (``.DS_Store``, ``.gitkeep``) are skipped silently. Problems carry the
    file name as ``source``.
    """
    total = _Collector()
    for name, data in sorted(files, key=lambda item: item[0]):
        basename = name.rsplit("/", 1)[-1]
        if basename.startswith("."):
            continue
        kind = _BY_EXTENSION.get(_extension(name))
        if kind is None:
            total.problems.append(Problem(None, UNSUPPORTED_FILE, name))
            continue
        try:
            text = decode(data, name)
        except DatasetError:
            total.problems.append(Problem(None, NOT_UTF8, name))
            continue
        # Plain documents in subfolders are labelled by their subfolder (reviews/negative/a.txt →
        # "negative"), the usual layout of a text-classification corpus, unless positive= is given.
        folder_label = name.split("/", 1)[0] if kind == _TEXT and "/" in name else None
        total.merge(_parse(text, name, positive, kind == _TEXT, folder_label), source=name)
    return total.finish()


# --- formats ---------------------------------------------------------------------------------


def _extension(filename: str) -> str:
    basename = filename.rsplit("/", 1)[-1]
    dot = basename.rfind(".")
    return basename[dot:].lower() if dot > 0 else ""


def _parse(
    text: str,
    filename: str | None,
    positive: bool | None,
    document_per_file: bool,
    folder_label: str | None = None,
) -> _Collector:
    text = text.removeprefix("\ufeff")
    name = filename or "inline"
    collector = _Collector()
    text = _without_surrogates(text, collector)
    if filename is None:
        kind = _sniff(text, strict=False)
    else:
        kind = _BY_EXTENSION.get(_extension(filename)) or _sniff(text, strict=False)
        if kind == _TEXT and _extension(filename) == ".txt" and not document_per_file:
            kind = _sniff(text, strict=True)
    if kind == _JSONL:
        _read_jsonl(text, name, positive, collector)
    elif kind == _JSON:
        _read_json(text, name, positive, collector)
    elif kind == _CSV:
        _read_csv(text, name, positive, collector)
    else:
        _read_text(text, name, positive, document_per_file, collector, folder_label)
    return collector


# A lone UTF-16 surrogate: in a str only from bytes decoded with "surrogateescape" (a console in
# the C locale) or from a JSON escape (``"\ud800"``). It is not text: nothing can encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _without_surrogates(text: str, out: _Collector) -> str:
    """``text`` with each line that holds a lone surrogate blanked (line numbers kept), and a
    problem for each such line: the line the stream would find not UTF-8."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if _SURROGATE.search(line):
            out.problems.append(Problem(number, NOT_UTF8))
            lines[number - 1] = ""
    return "\n".join(lines)


def _shown(names: Iterable[str], *, limit: int = 4, width: int = 30) -> str:
    """Names taken from the data, for a one-line message: each cut to ``width`` characters with
    what cannot be printed escaped, at most ``limit`` of them."""
    names = list(names)
    shown = []
    for name in names[:limit]:
        if not (name.isprintable() and name.strip()):
            name = repr(name)
        shown.append(name if len(name) <= width else name[: width - 1] + "…")
    if len(names) > limit:
        shown.append(f"{len(names) - limit} more")
    return ", ".join(shown)


def _lines(text: str) -> list[str]:
    # Not str.splitlines: JSON strings may hold a raw U+2028, which splitlines would cut.
    return [line.removesuffix("\r") for line in text.split("\n")]


def _sniff(text: str, *, strict: bool) -> str:
    """The format ``text`` looks like. ``strict`` returns a structured format only when it parses."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        whole = _loads(text)
        # One object of answers (``{"question": "answer"}``) is JSON even when it fits on a line.
        if isinstance(whole, dict) and _shape(whole) is None:
            return _JSON
        if _every_line_is_json(text):
            return _JSONL
        if whole is not None:
            return _JSON
        return _TEXT if strict else _JSONL
    if stripped.startswith("["):
        return _JSON if not strict or _loads(text) is not None else _TEXT
    first_line = stripped.split("\n", 1)[0]
    if _csv_columns(first_line) is not None:
        return _CSV
    return _TEXT


def _loads(text: str) -> object | None:
    """``text`` parsed as JSON, or ``None`` when it is not JSON (or is ``null``)."""
    value = _load_json(text)
    return None if isinstance(value, _BadJson) else value


def _every_line_is_json(text: str) -> bool:
    lines = [line for line in _lines(text) if line.strip()]
    return bool(lines) and all(not isinstance(_load_json(line), _BadJson) for line in lines)


def _csv_columns(header_line: str) -> tuple[str, str] | None:
    """The (input, answer) column names a CSV header line holds, if it is one."""
    if "," not in header_line:
        return None
    try:
        cells = next(csv.reader([header_line]), [])
    except csv.Error:  # a carriage return in an unquoted cell: not a header this reads
        return None
    return _pick_columns([cell.strip().lower() for cell in cells])


def _pick_columns(columns: Sequence[str]) -> tuple[str, str] | None:
    for pair in (("text", "label"), *_PAIRS):
        if pair[0] in columns and pair[1] in columns:
            return pair
    return None


def _read_jsonl(text: str, name: str, positive: bool | None, out: _Collector) -> None:
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            _read_jsonl_line(line, number, name, positive, out)


def _read_jsonl_line(
    line: str, number: int, name: str, positive: bool | None, out: _Collector
) -> None:
    """One non-blank JSON Lines line: its example, or its problems (the line is ``number``)."""
    value = _load_json(line)
    if isinstance(value, _BadJson):
        out.problems.append(Problem(number, value.message))
        return
    _add_record(value, f"{name} line {number}", positive, out, line=number, item=None)


def _read_json(text: str, name: str, positive: bool | None, out: _Collector) -> None:
    value = _load_json(text)
    if isinstance(value, _BadJson):
        out.problems.append(Problem(value.line, value.message))
        return
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            _add_record(item, f"{name} item {index}", positive, out, line=None, item=index)
    elif isinstance(value, dict) and _shape(value) is not None:
        _add_record(value, f"{name} item 1", positive, out, line=None, item=1)
    elif isinstance(value, dict):
        _read_mapping(value, name, positive, out)
    else:
        out.problems.append(
            Problem(None, "a JSON dataset must be an array of examples or an object of answers")
        )


def _read_mapping(
    value: Mapping[str, Any], name: str, positive: bool | None, out: _Collector
) -> None:
    """The original ``!test`` data: ``{"input": "expected answer", ...}``."""
    out.kinds.add(_CHAT)
    for index, (prompt, expected) in enumerate(value.items(), start=1):
        if not prompt.strip():
            out.problems.append(Problem(None, f"item {index}: empty input"))
        elif not isinstance(expected, str):
            out.problems.append(Problem(None, f"item {index}: the answer is not a string"))
        elif not expected.strip():
            out.problems.append(Problem(None, f"item {index}: empty answer"))
        else:
            out.examples.append(
                Example.single_turn(
                    prompt, expected, wanted=positive is not False, origin=f"{name} item {index}"
                )
            )


@dataclass(frozen=True)
class _BadJson:
    line: int | None
    message: str


def _load_json(text: str) -> object:
    """``text`` parsed as JSON, or a ``_BadJson`` saying why it is not (never raises)."""
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError as exc:
        return _BadJson(exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except ValueError:  # the only other one: an integer longer than Python's digit limit
        return _BadJson(None, "not valid JSON: a number is too long")
    except RecursionError:
        return _BadJson(None, "not valid JSON: nested too deeply")
    if _SURROGATE_ESCAPE.search(text) and _holds_surrogate(value):
        return _BadJson(None, "not valid JSON: a \\u escape is half a surrogate pair, not text")
    return value


def _holds_surrogate(value: object) -> bool:
    """Whether a parsed JSON value has a lone surrogate in a string or key (iterative: the value
    may be nested as deep as the parser allows)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank CSV record with the line it starts on; a malformed record raises ``_CsvError``."""
    # strict: a stray or unclosed quote is an error, not a cell that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    last_line = 0
    while True:
        number = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _CsvError(number, f"not valid CSV: {exc}") from None
        last_line = reader.line_num
        if any(cell.strip() for cell in row):
            yield number, row


class _CsvError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(line, message)


def _read_csv(text: str, name: str, positive: bool | None, out: _Collector) -> None:
    rows = _csv_rows(text)
    try:
        for header_line, cells in rows:
            header = [cell.strip().lower() for cell in cells]
            columns = _pick_columns(header)
            if columns is None:
                found = _shown([cell for cell in header if cell])
                out.problems.append(
                    Problem(
                        header_line,
                        "the CSV header needs prompt and completion (or input and output, "
                        f"question and answer) or text and label columns; it has {found}",
                    )
                )
                return
            _read_csv_records(rows, header, columns, name, positive, out)
            return
    except _CsvError as exc:
        out.problems.append(exc.problem)


def _read_csv_records(
    rows: Iterator[tuple[int, list[str]]],
    header: list[str],
    columns: tuple[str, str],
    name: str,
    positive: bool | None,
    out: _Collector,
) -> None:
    labelled = columns == ("text", "label")
    out.kinds.add(_LABELLED if labelled else _CHAT)
    positions = [header.index(column) for column in columns]
    for number, row in rows:
        if len(row) != len(header):
            out.problems.append(
                Problem(number, f"has {len(row)} cells, the header has {len(header)}")
            )
            continue
        first, second = (row[position] for position in positions)
        empty = [
            column
            for column, cell in zip(columns, (first, second), strict=True)
            if not cell.strip()
        ]
        if empty:
            out.problems.extend(Problem(number, f"empty {column}") for column in empty)
            continue
        origin = f"{name} line {number}"
        if labelled:
            out.examples.append(Example.single_turn(first.strip(), second.strip(), origin=origin))
        else:
            out.examples.append(
                Example.single_turn(first, second, wanted=positive is not False, origin=origin)
            )


def _read_text(
    text: str,
    name: str,
    positive: bool | None,
    document_per_file: bool,
    out: _Collector,
    folder_label: str | None = None,
) -> None:
    out.kinds.add(_LABELLED)
    if document_per_file:
        documents = [(name, text.strip())] if text.strip() else []
    else:
        documents = [
            (f"{name} line {number}", line.strip())
            for number, line in enumerate(_lines(text), start=1)
            if line.strip()
        ]
    if not documents:
        return
    if positive is not None:
        label = POSITIVE if positive else NEGATIVE
    elif folder_label is not None:
        label = folder_label
    else:
        out.unlabelled_text = True
        return
    out.examples.extend(
        Example.single_turn(document, label, origin=origin) for origin, document in documents
    )


# --- records: one JSON object, any shape -----------------------------------------------------


def _add_record(
    value: object,
    origin: str,
    positive: bool | None,
    out: _Collector,
    *,
    line: int | None,
    item: int | None,
) -> None:
    """Check one JSON record and add its example, or a problem for each thing wrong with it."""
    errors: list[str] = []
    example: Example | None = None
    if not isinstance(value, dict):
        errors.append("not a JSON object")
    else:
        shape = _shape(value)
        if shape is None:
            errors.append(
                "missing messages (or prompt and completion, text and label, "
                "input and preferred_output)"
            )
        else:
            out.kinds.add(_LABELLED if shape == "labelled" else _CHAT)
            example = _SHAPES[shape](value, positive, errors, origin)
    if errors:
        prefix = "" if item is None else f"item {item}: "
        out.problems.extend(Problem(line, prefix + error) for error in errors)
    elif example is not None:
        out.examples.append(example)


def _shape(value: Mapping[str, Any]) -> str | None:
    if "messages" in value:
        return "chat"
    if (
        "preferred_output" in value
        or "non_preferred_output" in value
        or isinstance(value.get("input"), dict)
    ):
        return "preference"
    for prompt_key, completion_key in _PAIRS:
        if prompt_key in value or completion_key in value:
            return "pair"
    if "text" in value or "label" in value:
        return "labelled"
    return None


def _unknown_keys(value: Mapping[str, Any], allowed: frozenset[str], errors: list[str]) -> None:
    if allowed.issuperset(value):
        return
    unknown = sorted(key for key in value if key not in allowed)
    if unknown:
        errors.append(f"unrecognised keys: {_shown(unknown)}")


def _wanted(value: Mapping[str, Any], positive: bool | None, errors: list[str]) -> bool:
    wanted = value.get("wanted", True)
    if not isinstance(wanted, bool):
        errors.append("wanted must be true or false")
        return True
    return wanted and positive is not False


def _messages(value: object, name: str, where: str, errors: list[str]) -> list[ChatMessage] | None:
    """Check a list of OpenAI chat messages.

    ``name`` names the list in problems ("messages"), ``where`` each message in it ("message 2").
    """
    if not isinstance(value, list) or not value:
        errors.append(f"{name} must be a non-empty list")
        return None
    messages: list[ChatMessage] = []
    before = len(errors)
    for index, message in enumerate(value, start=1):
        if isinstance(message, dict) and len(message) == 2:
            # The usual message, {"role": ..., "content": ...} and nothing wrong with it, quickly;
            # anything else goes through every check below.
            role, content = message.get("role"), message.get("content")
            if (
                type(role) is str
                and type(content) is str
                and role in _ROLE_OF
                and content
                and not content.isspace()
            ):
                messages.append(ChatMessage(_ROLE_OF[role], content))
                continue
        label = f"{where} {index}"
        if not isinstance(message, dict):
            errors.append(f"{label} is not an object")
            continue
        unknown = sorted(key for key in message if key not in _MESSAGE_KEYS)
        if unknown:
            errors.append(f"{label} has unrecognised keys: {_shown(unknown)}")
        role, content = message.get("role"), message.get("content")
        if role is None:
            errors.append(f"{label} has no role")
        elif not isinstance(role, str) or role not in _ROLES:
            errors.append(f"{label} has unrecognised role {_shown([json.dumps(role)])}")
        if content is None:
            errors.append(f"{label} has no content")
        elif not isinstance(content, str):
            errors.append(f"{label} content is not a string")
        elif not content.strip():
            errors.append(f"{label} has empty content")
        if "name" in message and not isinstance(message["name"], str):
            errors.append(f"{label} name is not a string")
        weight = message.get("weight", 1)
        if isinstance(weight, bool) or weight not in (0, 1):
            errors.append(f"{label} weight must be 0 or 1")
        if isinstance(role, str) and role in _ROLES and isinstance(content, str):
            messages.append(ChatMessage(_ROLE_OF[role], content))
    return None if len(errors) > before else messages


def _has_user(messages: Sequence[ChatMessage]) -> bool:
    return any(message.role is Role.USER for message in messages)


def _chat(
    value: Mapping[str, Any], positive: bool | None, errors: list[str], origin: str
) -> Example | None:
    _unknown_keys(value, _CHAT_KEYS, errors)
    wanted = _wanted(value, positive, errors)
    raw = value["messages"]
    messages = _messages(raw, "messages", "message", errors)
    if messages is None:
        return None
    # weight 0 means "do not learn this answer" (OpenAI): the completion is the last one learned.
    # (``messages`` has one message for each of ``raw``: a message with a problem returns None.)
    answered, last, first_user = False, None, None
    for index, message in enumerate(messages):
        if message.role is Role.ASSISTANT:
            answered = True
            if raw[index].get("weight", 1) != 0:
                last = index
        elif message.role is Role.USER and first_user is None:
            first_user = index
    if not answered:
        errors.append("no assistant message")
        return None
    if last is None:
        errors.append("every assistant message has weight 0: nothing to learn")
        return None
    if first_user is None or first_user > last:
        errors.append("no user message before the last assistant message")
        return None
    return Example(tuple(messages[:last]), messages[last].content, wanted=wanted, origin=origin)


def _output(value: Mapping[str, Any], key: str, errors: list[str]) -> str | None:
    """The answer of a ``preferred_output`` / ``non_preferred_output`` list."""
    if key not in value:
        errors.append(f"missing {key}")
        return None
    messages = _messages(value[key], key, f"{key} message", errors)
    if messages is None:
        return None
    if len(messages) != 1 or messages[0].role is not Role.ASSISTANT:
        errors.append(f"{key} must hold exactly one assistant message")
        return None
    return messages[0].content


def _preference(
    value: Mapping[str, Any], positive: bool | None, errors: list[str], origin: str
) -> Example | None:
    _unknown_keys(value, _PREFERENCE_KEYS, errors)
    wanted = _wanted(value, positive, errors)
    prompt: list[ChatMessage] | None = None
    source = value.get("input")
    if source is None:
        errors.append("missing input")
    elif not isinstance(source, dict):
        errors.append("input must be an object with messages")
    else:
        unknown = sorted(key for key in source if key not in _INPUT_KEYS)
        if unknown:
            errors.append(f"input has unrecognised keys: {_shown(unknown)}")
        if "messages" not in source:
            errors.append("input has no messages")
        else:
            prompt = _messages(source["messages"], "input messages", "input message", errors)
            if prompt is not None and not _has_user(prompt):
                errors.append("input has no user message")
                prompt = None
    preferred = _output(value, "preferred_output", errors)
    rejected = _output(value, "non_preferred_output", errors)
    if prompt is None or preferred is None or rejected is None:
        return None
    if preferred == rejected:
        errors.append("preferred and non-preferred outputs are the same")
        return None
    return Example(tuple(prompt), preferred, rejected=rejected, wanted=wanted, origin=origin)


def _pair(
    value: Mapping[str, Any], positive: bool | None, errors: list[str], origin: str
) -> Example | None:
    prompt_key, completion_key = next(
        pair for pair in _PAIRS if pair[0] in value or pair[1] in value
    )
    _unknown_keys(value, frozenset({prompt_key, completion_key}) | _PAIR_EXTRA_KEYS, errors)
    wanted = _wanted(value, positive, errors)
    prompt: tuple[ChatMessage, ...] | None = None
    raw = value.get(prompt_key)
    if raw is None:
        errors.append(f"missing {prompt_key}")
    elif isinstance(raw, str):
        if raw.strip():
            prompt = (ChatMessage(Role.USER, raw),)
        else:
            errors.append(f"empty {prompt_key}")
    elif isinstance(raw, list):
        messages = _messages(raw, prompt_key, f"{prompt_key} message", errors)
        if messages is not None and not _has_user(messages):
            errors.append(f"{prompt_key} has no user message")
        elif messages is not None:
            prompt = tuple(messages)
    else:
        errors.append(f"{prompt_key} must be a string or a list of messages")
    completion = _string(value, completion_key, errors)
    rejected: str | None = None
    if value.get("rejected") is not None:
        rejected = _string(value, "rejected", errors)
    if prompt is None or completion is None or errors:
        return None
    return Example(prompt, completion, rejected=rejected, wanted=wanted, origin=origin)


def _string(value: Mapping[str, Any], key: str, errors: list[str]) -> str | None:
    raw = value.get(key)
    if raw is None:
        errors.append(f"missing {key}")
    elif not isinstance(raw, str):
        errors.append(f"{key} must be a string")
    elif not raw.strip():
        errors.append(f"empty {key}")
    else:
        return raw
    return None


def _labelled(
    value: Mapping[str, Any], positive: bool | None, errors: list[str], origin: str
) -> Example | None:
    # ``positive`` is ignored: the data carries its labels.
    _unknown_keys(value, _LABELLED_KEYS, errors)
    text = _string(value, "text", errors)
    raw_label = value.get("label")
    if isinstance(raw_label, int) and not isinstance(raw_label, bool):
        raw_label = str(raw_label)
    label = _string({"label": raw_label}, "label", errors)
    if text is None or label is None or errors:
        return None
    return Example.single_turn(text.strip(), label.strip(), origin=origin)


_SHAPES = {
    "chat": _chat,
    "preference": _preference,
    "pair": _pair,
    "labelled": _labelled,
}


# --- building and validating -----------------------------------------------------------------


def build_dataset(name: str, parsed: ParseResult, *, source: str) -> tuple[Dataset, int]:
    """The dataset of ``parsed`` without exact duplicates (first kept), and how many were removed."""
    seen: set[str] = set()
    unique: list[Example] = []
    for example in parsed.examples:
        key = example.key()
        if key not in seen:
            seen.add(key)
            unique.append(example)
    dataset = Dataset(name=name, task=parsed.task, examples=tuple(unique), source=source)
    return dataset, len(parsed.examples) - len(unique)


# The validation report keeps at most this many problems (the first ones), and counts the rest.
MAX_PROBLEMS_KEPT = 50


@dataclass(frozen=True)
class ValidationReport:
    """What a dataset holds and whether it can be trained on.

    Valid means: no problems, at least ``min_examples`` examples in the training part (what the
    trainer receives), and for classification at least two labels. An example over the token limit
    is a problem on its line. Duplicates (removed before counting) and leakage (test examples asking
    what a training example asks, ignoring case, spacing and punctuation: the split keeps the same
    question, ignoring case and spacing, on one side, but not one punctuated otherwise) are reported
    but do not invalidate. ``omitted_problems`` counts problems found beyond those kept (a streamed
    file keeps the first ``MAX_PROBLEMS_KEPT``). ``tokens`` is present when tokens were counted,
    ``billing`` when the trainer bills by the token. ``corrections`` counts the examples made from
    corrections, ``corrections_held_out`` those of them in the test part (only with ``holdout``,
    ``!train holdout=true``); the details say in one line whether every correction trains.
    """

    dataset_name: str
    dataset_version: str
    task: Task
    example_count: int
    train_count: int
    test_count: int
    labels: tuple[str, ...]
    problems: tuple[Problem, ...]
    duplicates: int
    leaked: int
    min_examples: int
    omitted_problems: int = 0
    tokens: TokenStats | None = None
    billing: BillingEstimate | None = None
    corrections: int = 0
    corrections_held_out: int = 0
    holdout: bool = False

    @property
    def problem_count(self) -> int:
        return len(self.problems) + self.omitted_problems

    @property
    def too_few(self) -> bool:
        # The trainer receives only the training part: that is what must reach its minimum.
        return self.train_count < self.min_examples

    @property
    def one_label(self) -> bool:
        return self.task is Task.CLASSIFICATION and len(self.labels) < 2

    @property
    def is_valid(self) -> bool:
        return not self.problem_count and not self.too_few and not self.one_label

    def _blocking_notes(self) -> list[str]:
        notes: list[str] = []
        if self.too_few:
            notes.append(
                f"needs at least {self.min_examples} training examples, has {self.train_count} "
                f"(of {self.example_count}; {self.test_count} held out for testing)"
            )
        if self.one_label:
            if self.labels:
                label = _shown(self.labels[:1], width=40)
                notes.append(f"only one label ({label}): a classifier needs at least two")
            else:
                notes.append("no labels: a classifier needs at least two")
        return notes

    def summary(self) -> str:
        """One line: the counts and version when valid, else the first reasons it is not."""
        if not self.is_valid:
            reasons = [str(problem) for problem in self.problems] + self._blocking_notes()
            shown = reasons[:2]
            more = len(reasons) - len(shown) + self.omitted_problems
            if more:
                shown.append(f"and {more:,} more")
            head = (
                f"invalid: {plural(self.problem_count, 'problem')} — " if self.problem_count else ""
            )
            return (head or "invalid: ") + "; ".join(shown)
        parts = [
            f"{plural(self.example_count, 'example')} "
            f"({self.train_count} train / {self.test_count} test)"
        ]
        if self.task is Task.CLASSIFICATION:
            parts.append(plural(len(self.labels), "label"))
        parts.append(f"version {self.dataset_version}")
        if self.tokens is not None:
            parts.append(plural(self.tokens.total, "token"))
        text = ", ".join(parts)
        if self.duplicates:
            text += f"; {plural(self.duplicates, 'duplicate')} removed"
        if self.leaked:
            text += f"; {plural(self.leaked, 'test example')} also in training"
        return text

    def details(self) -> list[str]:
        """One line per problem, then the notes: too few examples, one label, duplicates, leakage,
        then the token statistics and the cost estimate when they were made."""
        lines = [str(problem) for problem in self.problems]
        if self.omitted_problems:
            lines.append(f"and {plural(self.omitted_problems, 'more problem')} not listed")
        lines.extend(self._blocking_notes())
        if self.duplicates:
            lines.append(f"{plural(self.duplicates, 'duplicate example')} removed")
        if self.example_count and not self.test_count and self.corrections < self.example_count:
            lines.append("no test examples: the split put every example in training")
        if self.corrections:
            lines.append(self._corrections_note())
        if self.leaked:
            lines.append(
                f"{plural(self.leaked, 'test example')} asked the same as a training example: "
                "test scores on them will look better than the model is"
            )
        if self.tokens is not None:
            lines.append(self.tokens.describe())
        if self.billing is not None:
            lines.append(self.billing.describe())
        return lines

    def _corrections_note(self) -> str:
        """Whether every correction trains, in one line."""
        every = (
            f"All {self.corrections} corrections train"
            if self.corrections > 1
            else "The correction trains"
        )
        if self.corrections_held_out:
            return (
                f"{self.corrections_held_out} of {plural(self.corrections, 'correction')} held "
                "out for testing (holdout=true); the rest train"
            )
        if self.holdout:
            return f"{every}; holdout=true, but the split held none of them out"
        return f"{every}; none held out (holdout=true holds some out for testing)"


def validate(
    dataset: Dataset,
    parsed: ParseResult,
    *,
    duplicates: int,
    min_examples: int,
    tokens: TokenCheck | None = None,
) -> ValidationReport:
    """The validation report of ``dataset`` (built from ``parsed``), using ``Dataset.split()``.

    With ``tokens``, every example is counted: the report gets token statistics, a problem for each
    example over ``tokens.max_example_tokens`` (after the parse problems, naming the example's line,
    or its item or origin), and with ``tokens.billing`` the cost estimate of the training part.
    """
    train, test = dataset.split()
    in_test = {id(example) for example in test.examples}
    leakage = _Leakage()
    batches: list[tuple[Sequence[Example], Sequence[bool], int]] = []
    for start in range(0, len(dataset.examples), _BATCH):
        batch = dataset.examples[start : start + _BATCH]
        held_out = [id(example) in in_test for example in batch]
        leakage.add([_question(example.user_text) for example in batch], held_out)
        batches.append((batch, held_out, start))
    problems = list(parsed.problems)
    stats: TokenStats | None = None
    billing: BillingEstimate | None = None
    if tokens is not None:
        survey = TokenSurvey(tokens)
        places: _Places | None = None  # read from the origins only when a problem needs them
        for start, over in survey.measure(batches):
            for index, message in over:
                places = places or _Places(dataset.examples)
                problems.append(places.of(dataset.examples[start + index]).problem(message))
        stats, billing = survey.stats(), survey.billing(len(train.examples))
    return ValidationReport(
        dataset_name=dataset.name,
        dataset_version=dataset.version,
        task=dataset.task,
        example_count=len(dataset.examples),
        train_count=len(train.examples),
        test_count=len(test.examples),
        labels=dataset.labels,
        problems=tuple(problems),
        duplicates=duplicates,
        leaked=leakage.count(),
        min_examples=min_examples,
        tokens=stats,
        billing=billing,
        corrections=sum(1 for example in dataset.examples if example.from_correction),
        corrections_held_out=sum(1 for example in test.examples if example.from_correction),
        holdout=dataset.hold_out_corrections,
    )


def validate_stream(
    lines: Iterable[str | bytes],
    *,
    name: str,
    min_examples: int,
    positive: bool | None = None,
    tokens: TokenCheck | None = None,
    max_problems: int = MAX_PROBLEMS_KEPT,
) -> ValidationReport:
    """The validation report of a JSON Lines file, read one line at a time.

    ``lines`` are the file's lines as iterating a file opened in binary mode yields them (text
    lines work too); ``name`` names the dataset. The report is the one ``parse_text`` →
    ``build_dataset`` → ``validate`` gives for the same text — the same checks, duplicates,
    version, split, leakage, token counts and estimate — except that only the first
    ``max_problems`` problems are kept (``omitted_problems`` counts the rest) and problems come in
    line order (an example over the token limit among the others). Only JSON Lines is streamed;
    other formats are read whole with ``parse_text``.

    Memory: lines and examples are held a batch at a time (two while a counter counts one batch
    elsewhere), token statistics as a histogram, so the file's text never is. What grows with the
    file is what exact answers need: a 64-bit digest per distinct example (duplicates) and per
    question (leakage), in flat arrays of about 16 bytes a digest — some 30 MB for a million
    examples, where the text is typically a gigabyte — and, for classification, the labels.
    """
    collector = _Collector()
    stream = _Stream(max(1, max_problems))
    batches = stream.batches(lines, name, positive, collector)
    stats: TokenStats | None = None
    billing: BillingEstimate | None = None
    if tokens is None:
        for _, _, (problems, _) in batches:
            stream.keep(problems)
    else:
        survey = TokenSurvey(tokens)
        for (problems, numbers), over in survey.measure(batches):
            problems += [Problem(numbers[index], message) for index, message in over]
            stream.keep(sorted(problems, key=lambda problem: problem.line or 0))
    # As Dataset.split: a test part that would take every example takes none.
    nothing_held_out = not stream.train
    if nothing_held_out:
        stream.train, stream.test = stream.test, 0
    if tokens is not None:
        stats = survey.stats()
        billing = survey.billing(stream.train, nothing_held_out=nothing_held_out)
    stream.keep(collector.closing_problems())
    task = collector.task
    return ValidationReport(
        dataset_name=name,
        dataset_version=stream.version(task),
        task=task,
        example_count=stream.train + stream.test,
        train_count=stream.train,
        test_count=stream.test,
        labels=tuple(sorted(stream.labels)) if task is Task.CLASSIFICATION else (),
        problems=tuple(stream.problems),
        duplicates=stream.duplicates,
        leaked=0 if nothing_held_out else stream.leakage.count(),
        min_examples=min_examples,
        omitted_problems=stream.omitted,
        tokens=stats,
        billing=billing,
    )


# Examples are checked, split and counted this many at a time.
_BATCH = 1024


def _question(text: str) -> str:
    """What the split compares: the question ignoring case and spacing."""
    return " ".join(text.split()).casefold()


# What leakage ignores besides case and spacing: ASCII punctuation and the usual typographic marks.
_ASCII_PUNCTUATION = bytes.maketrans(string.punctuation.encode(), b" " * len(string.punctuation))
_TYPOGRAPHIC_MARKS = tuple(mark.encode() for mark in "‘’“”«»‹›–—…¿¡·")


def _loose(question: str) -> bytes:
    """What leakage compares: a ``_question`` without its punctuation, as UTF-8."""
    data = question.encode()
    if not question.isascii():
        for mark in _TYPOGRAPHIC_MARKS:
            data = data.replace(mark, b" ")
    # A _question's only spaces are single ASCII ones, so splitting bytes splits the same.
    return b" ".join(data.translate(_ASCII_PUNCTUATION).split())


def _held_out(question: str, test_percent: int = TEST_SHARE_PERCENT) -> bool:
    """Whether ``Dataset.split`` puts an example asking ``question`` (a ``_question``) in the
    test part: the same hash of the question, so the same side."""
    digest = hashlib.sha256(question.encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < test_percent


class _DigestSet:
    """A set of 64-bit digests in one flat array: 8 bytes a slot, at most half the slots used, so
    about 16 bytes a member where a Python set of ints takes some 70.

    Rules:
    - Open addressing with linear probing; 0 marks a free slot, so a digest of 0 is stored as 1.
    - The table doubles when it is half full.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._mask = len(self._slots) - 1
        self._free = len(self._slots) // 2  # members to add before the table grows

    def add(self, digest: int) -> bool:
        """Add ``digest``; whether it was new."""
        digest = digest or 1
        slots, mask = self._slots, self._mask
        index = digest & mask
        while (found := slots[index]) != 0:
            if found == digest:
                return False
            index = (index + 1) & mask
        slots[index] = digest
        self._free -= 1
        if not self._free:
            self._grow()
        return True

    def __contains__(self, digest: int) -> bool:
        digest = digest or 1
        slots, mask = self._slots, self._mask
        index = digest & mask
        while (found := slots[index]) != 0:
            if found == digest:
                return True
            index = (index + 1) & mask
        return False

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._free = len(self._slots) // 2
        for digest in old:
            if digest:
                self.add(digest)


_DIGEST_BITS = (1 << 64) - 1


class _Leakage:
    """Counts test examples asking what a training example asks (``_loose`` questions), whichever
    comes first in the data. A 64-bit digest stands for each question: 8 to 16 bytes, where its
    text could be hundreds."""

    def __init__(self) -> None:
        self._asked_in_training = _DigestSet()
        self._asked_in_test = array("Q")  # one digest a test example

    def add(self, questions: Sequence[str], held_out: Sequence[bool]) -> None:
        for question, tested in zip(questions, held_out, strict=True):
            digest = hash(_loose(question)) & _DIGEST_BITS
            if tested:
                self._asked_in_test.append(digest)
            else:
                self._asked_in_training.add(digest)

    def count(self) -> int:
        asked = self._asked_in_training
        return sum(1 for digest in self._asked_in_test if digest in asked)


@dataclass(frozen=True)
class _Place:
    """Where an example came from, for a problem about it: its line, or an item, or an origin."""

    line: int | None
    source: str = ""
    prefix: str = ""

    def problem(self, message: str) -> Problem:
        return Problem(self.line, self.prefix + message, self.source)


_ORIGIN = re.compile(r"(?P<source>.*) (?P<kind>line|item) (?P<number>\d+)")


class _Places:
    """Where a dataset's examples came from, read back from their origins ("a.jsonl line 7").

    Rules:
    - ``… line N`` is line N, ``… item N`` the item's number in the message, any other origin (a
      correction) names itself.
    - The file name is kept only when the examples come from more than one file, as parse
      problems name it only in a folder.
    """

    def __init__(self, examples: Sequence[Example]) -> None:
        sources = {self._split(example.origin)[0] for example in examples}
        self._one_source = len(sources) <= 1

    @staticmethod
    def _split(origin: str) -> tuple[str, str | None, int]:
        match = _ORIGIN.fullmatch(origin)
        if match is None:
            return origin, None, 0
        return match["source"], match["kind"], int(match["number"])

    def of(self, example: Example) -> _Place:
        source, kind, number = self._split(example.origin)
        if kind is None:
            return _Place(None, source)
        source = "" if self._one_source else source
        if kind == "line":
            return _Place(number, source)
        return _Place(None, source, f"item {number}: ")


# A streamed batch's parse problems, and the line of each of its examples.
_Lines = tuple[list[Problem], list[int]]


class _Stream:
    """What ``validate_stream`` keeps between batches.

    Rules:
    - Problems are kept in line order, the first ``max_problems`` of them; the rest are counted.
    - Duplicates: an example whose key's 64-bit digest was seen is one (two different examples
      sharing a digest: under one chance in ten million, for a million examples).
    - The version hashes the task first, known only at the end: one digest runs for each task.
    """

    def __init__(self, max_problems: int) -> None:
        self._max_problems = max_problems
        self.problems: list[Problem] = []
        self.omitted = 0
        self._seen = _DigestSet()
        self.duplicates = 0
        self.train = self.test = 0
        self.labels: set[str] = set()
        self.leakage = _Leakage()
        self._versions = {task: hashlib.sha256(task.value.encode()) for task in Task}

    def batches(
        self, lines: Iterable[str | bytes], name: str, positive: bool | None, out: _Collector
    ) -> Iterator[tuple[list[Example], list[bool], _Lines]]:
        """Read ``lines`` into ``out`` a batch at a time; yields each batch's distinct examples,
        which of them are held out for testing, and its problems and examples' lines."""
        numbers: list[int] = []  # the line of each example in ``out.examples``
        for number, raw in enumerate(lines, start=1):
            if isinstance(raw, bytes):
                try:
                    # As ``decode`` then ``parse_text``: each drops a byte-order mark.
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError:
                    out.problems.append(Problem(number, NOT_UTF8))
                    continue
            elif _SURROGATE.search(raw):
                out.problems.append(Problem(number, NOT_UTF8))
                continue
            else:
                line = raw
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            before = len(out.examples)
            # As _lines: the line end, and one carriage return before it (a CRLF file).
            line = line.removesuffix("\n").removesuffix("\r")
            _read_jsonl_line(line, number, name, positive, out)
            if len(out.examples) > before:
                numbers.append(number)
            if len(out.examples) >= _BATCH or len(out.problems) >= _BATCH:
                yield self._take(out, numbers)
        yield self._take(out, numbers)

    def _take(
        self, out: _Collector, numbers: list[int]
    ) -> tuple[list[Example], list[bool], _Lines]:
        distinct: list[Example] = []
        lines: list[int] = []
        for example, number in zip(out.examples, numbers, strict=True):
            key = example.key()
            digest = int(key[:16], 16)
            if not self._seen.add(digest):
                self.duplicates += 1
                continue
            for version in self._versions.values():
                version.update(key.encode())
            distinct.append(example)
            lines.append(number)
        questions = [_question(example.user_text) for example in distinct]
        held_out = [_held_out(question) for question in questions]
        tested = sum(held_out)
        self.test += tested
        self.train += len(distinct) - tested
        self.leakage.add(questions, held_out)
        if out.kinds == {_LABELLED}:
            self.labels.update(example.completion for example in distinct)
        problems = list(out.problems)
        out.examples.clear()
        out.problems.clear()
        numbers.clear()
        return distinct, held_out, (problems, lines)

    def keep(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            if len(self.problems) < self._max_problems:
                self.problems.append(problem)
            else:
                self.omitted += 1

    def version(self, task: Task) -> str:
        return self._versions[task].hexdigest()[:12]
