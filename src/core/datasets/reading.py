"""Reading an input: ``decode``, ``parse_text`` and ``parse_files``, and which format a text is in.

Rules:
- The format is chosen by file extension: ``.jsonl`` JSON Lines, ``.json`` JSON, ``.csv`` CSV,
  ``.txt``, ``.md`` or none plain text (``formats``). A ``.txt`` file whose content is
  unmistakably JSON Lines, JSON or CSV with a known header is read as that (a long message pasted
  into Discord arrives as ``message.txt``), unless ``document_per_file`` is set.
- Without a file name the format is sniffed: first non-blank character ``{`` → an object of
  answers when the whole text is one JSON object with no example keys, else JSON Lines when every
  non-blank line parses, else one JSON object when the whole text parses, else JSON Lines (so
  each bad line is reported); ``[`` → a JSON array; a first line that is a CSV header with known
  columns → CSV; anything else → plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import DatasetError
from .formats import (
    BadJson,
    csv_columns,
    lines_of,
    load_json,
    read_csv,
    read_json,
    read_jsonl,
    read_text,
    without_surrogates,
)
from .problems import NOT_UTF8, UNSUPPORTED_FILE, Collector, ParseResult, Problem, shown
from .records import record_shape

_JSONL, _JSON, _CSV, _TEXT = "jsonl", "json", "csv", "text"
_BY_EXTENSION = {
    ".jsonl": _JSONL,
    ".json": _JSON,
    ".csv": _CSV,
    ".txt": _TEXT,
    ".md": _TEXT,
    "": _TEXT,
}


def decode(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text (a byte-order mark is dropped); raises ``DatasetError`` otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError(f"{shown([name], width=80)} is not UTF-8 text") from None


def parse_text(
    text: str,
    *,
    filename: str | None = None,
    positive: bool | None = None,
    document_per_file: bool = False,
) -> ParseResult:
    """Read examples from ``text``, in the format its file name or content says (rules above).

    Never raises for bad data: every problem is in the result, with its line or item number.
    """
    return _parse(text, filename, positive, document_per_file).finish()


def parse_files(files: Sequence[tuple[str, bytes]], *, positive: bool | None) -> ParseResult:
    """Read a workspace folder: ``(file name, bytes)`` pairs, each file parsed by its extension.

    Files are read in name order, so the dataset (and its version) does not depend on the order a
    listing returns. ``.txt``/``.md`` files are one document each; without ``positive``, those in a
    subfolder are labelled with the subfolder's name (``negative/a.txt`` → ``negative``). A file
    with another extension is reported ("skipped: unsupported file type") and so is one that is not
    UTF-8; the other files are still read. Hidden files (``.DS_Store``, ``.gitkeep``) are skipped
    silently. Problems carry the file name as ``source``.
    """
    total = Collector()
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
) -> Collector:
    text = text.removeprefix("\ufeff")
    name = filename or "inline"
    collector = Collector()
    text = without_surrogates(text, collector)
    if filename is None:
        kind = _sniff(text, strict=False)
    else:
        kind = _BY_EXTENSION.get(_extension(filename)) or _sniff(text, strict=False)
        if kind == _TEXT and _extension(filename) == ".txt" and not document_per_file:
            kind = _sniff(text, strict=True)
    if kind == _JSONL:
        read_jsonl(text, name, positive, collector)
    elif kind == _JSON:
        read_json(text, name, positive, collector)
    elif kind == _CSV:
        read_csv(text, name, positive, collector)
    else:
        read_text(text, name, positive, document_per_file, collector, folder_label)
    return collector


def _sniff(text: str, *, strict: bool) -> str:
    """The format ``text`` looks like. ``strict`` returns a structured format only when it parses."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        whole = _loads(text)
        # One object of answers (``{"question": "answer"}``) is JSON even when it fits on a line.
        if isinstance(whole, dict) and record_shape(whole) is None:
            return _JSON
        if _every_line_is_json(text):
            return _JSONL
        if whole is not None:
            return _JSON
        return _TEXT if strict else _JSONL
    if stripped.startswith("["):
        return _JSON if not strict or _loads(text) is not None else _TEXT
    first_line = stripped.split("\n", 1)[0]
    if csv_columns(first_line) is not None:
        return _CSV
    return _TEXT


def _loads(text: str) -> object | None:
    """``text`` parsed as JSON, or ``None`` when it is not JSON (or is ``null``)."""
    value = load_json(text)
    return None if isinstance(value, BadJson) else value


def _every_line_is_json(text: str) -> bool:
    lines = [line for line in lines_of(text) if line.strip()]
    return bool(lines) and all(not isinstance(load_json(line), BadJson) for line in lines)
