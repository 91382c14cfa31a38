"""The format readers: JSON Lines, JSON, CSV and plain text, each adding to a ``Collector``.

Rules:
- JSON Lines: one record a non-blank line (``records``); a line that is not JSON is a problem on
  its line.
- JSON: an array of records, one record, or an object mapping each input to its expected answer
  (the original bot's ``!test`` data); problems name the 1-based item, not a line.
- CSV: a header row with ``prompt,completion`` (or ``input,output``, ``question,answer``) or
  ``text,label`` columns, case-insensitive; other columns are ignored; problems name the CSV line.
- Plain text: one document a non-blank line, or the whole text as one; labelled by ``positive``
  (POSITIVE or NEGATIVE), else by its folder, else a problem (``NEEDS_LABEL``).
- A line holding a lone UTF-16 surrogate is not text: it is blanked and reported ``NOT_UTF8``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import NEGATIVE, POSITIVE, Example
from .problems import CHAT, LABELLED, NOT_UTF8, Collector, Problem, shown
from .records import PAIRS, add_record, record_shape

# A lone UTF-16 surrogate: in a str only from bytes decoded with "surrogateescape" (a console in
# the C locale) or from a JSON escape (``"\ud800"``). It is not text: nothing can encode it.
SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def without_surrogates(text: str, out: Collector) -> str:
    """``text`` with each line that holds a lone surrogate blanked (line numbers kept), and a
    problem for each such line: the line the stream would find not UTF-8."""
    if text.isascii() or not SURROGATE.search(text):
        return text
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if SURROGATE.search(line):
            out.problems.append(Problem(number, NOT_UTF8))
            lines[number - 1] = ""
    return "\n".join(lines)


def lines_of(text: str) -> list[str]:
    # Not str.splitlines: JSON strings may hold a raw U+2028, which splitlines would cut.
    return [line.removesuffix("\r") for line in text.split("\n")]


def csv_columns(header_line: str) -> tuple[str, str] | None:
    """The (input, answer) column names a CSV header line holds, if it is one."""
    if "," not in header_line:
        return None
    try:
        cells = next(csv.reader([header_line]), [])
    except csv.Error:  # a carriage return in an unquoted cell: not a header this reads
        return None
    return _pick_columns([cell.strip().lower() for cell in cells])


def _pick_columns(columns: Sequence[str]) -> tuple[str, str] | None:
    for pair in (("text", "label"), *PAIRS):
        if pair[0] in columns and pair[1] in columns:
            return pair
    return None


def read_jsonl(text: str, name: str, positive: bool | None, out: Collector) -> None:
    for number, line in enumerate(lines_of(text), start=1):
        if line.strip():
            read_jsonl_line(line, number, name, positive, out)


def read_jsonl_line(
    line: str, number: int, name: str, positive: bool | None, out: Collector
) -> None:
    """One non-blank JSON Lines line: its example, or its problems (the line is ``number``)."""
    value = load_json(line)
    if isinstance(value, BadJson):
        out.problems.append(Problem(number, value.message))
        return
    add_record(value, f"{name} line {number}", positive, out, line=number, item=None)


def read_json(text: str, name: str, positive: bool | None, out: Collector) -> None:
    value = load_json(text)
    if isinstance(value, BadJson):
        out.problems.append(Problem(value.line, value.message))
        return
    if isinstance(value, list):
        for index, item in enumerate(value, start=1):
            add_record(item, f"{name} item {index}", positive, out, line=None, item=index)
    elif isinstance(value, dict) and record_shape(value) is not None:
        add_record(value, f"{name} item 1", positive, out, line=None, item=1)
    elif isinstance(value, dict):
        _read_mapping(value, name, positive, out)
    else:
        out.problems.append(
            Problem(None, "a JSON dataset must be an array of examples or an object of answers")
        )


def _read_mapping(
    value: Mapping[str, Any], name: str, positive: bool | None, out: Collector
) -> None:
    """The original ``!test`` data: ``{"input": "expected answer", ...}``."""
    out.kinds.add(CHAT)
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
class BadJson:
    line: int | None
    message: str


def load_json(text: str) -> object:
    """``text`` parsed as JSON, or a ``BadJson`` saying why it is not (never raises)."""
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError as exc:
        return BadJson(exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}")
    except ValueError:  # the only other one: an integer longer than Python's digit limit
        return BadJson(None, "not valid JSON: a number is too long")
    except RecursionError:
        return BadJson(None, "not valid JSON: nested too deeply")
    if _SURROGATE_ESCAPE.search(text) and _holds_surrogate(value):
        return BadJson(None, "not valid JSON: a \\u escape is half a surrogate pair, not text")
    return value


def _holds_surrogate(value: object) -> bool:
    """Whether a parsed JSON value has a lone surrogate in a string or key (iterative: the value
    may be nested as deep as the parser allows)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
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


def read_csv(text: str, name: str, positive: bool | None, out: Collector) -> None:
    rows = _csv_rows(text)
    try:
        for header_line, cells in rows:
            header = [cell.strip().lower() for cell in cells]
            columns = _pick_columns(header)
            if columns is None:
                found = shown([cell for cell in header if cell])
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
    out: Collector,
) -> None:
    labelled = columns == ("text", "label")
    out.kinds.add(LABELLED if labelled else CHAT)
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


def read_text(
    text: str,
    name: str,
    positive: bool | None,
    document_per_file: bool,
    out: Collector,
    folder_label: str | None = None,
) -> None:
    out.kinds.add(LABELLED)
    if document_per_file:
        documents = [(name, text.strip())] if text.strip() else []
    else:
        documents = [
            (f"{name} line {number}", line.strip())
            for number, line in enumerate(lines_of(text), start=1)
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
