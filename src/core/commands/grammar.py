"""The command language: how a command's arguments are written, for every front end.

Arguments may be given positionally, in the original bot's order, or by name as ``key=value``
(``!train data_dir=reviews positive=false method=local``). A value with spaces is quoted
(``"my folder"``) or, for inline data, put in a code block. The last parameter of some commands
takes the rest of the line verbatim (``!correct 123 the right answer``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..errors import InvalidArgument
from ..text import current_prefix


class Kind(StrEnum):
    TEXT = "text"
    BOOL = "bool"


@dataclass(frozen=True)
class Param:
    name: str
    help: str
    kind: Kind = Kind.TEXT
    required: bool = False
    rest: bool = False
    positional: bool = True

    @property
    def usage(self) -> str:
        shown = f"{self.name}..." if self.rest else self.name
        if not self.positional:
            shown = f"{self.name}=…"
        return f"<{shown}>" if self.required else f"[{shown}]"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    params: tuple[Param, ...] = ()
    trainer_only: bool = False
    # A file attached to the message is the command's data (``!train`` with a CSV attached).
    takes_upload: bool = False
    # Sent as a reply, the replied-to message's id fills this parameter (``!correct <text>``).
    reply_fills: str | None = None
    # What a front end may show while the command runs ("Testing"), for the slow ones.
    progress: str | None = None

    def usage(self, prefix: str | None = None) -> str:
        """``!name <required> [optional]``, with ``prefix`` or the one in effect."""
        shown = current_prefix() if prefix is None else prefix
        return " ".join([f"{shown}{self.name}", *(p.usage for p in self.params)])

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


@dataclass(frozen=True)
class ParsedCommand:
    spec: CommandSpec
    args: Mapping[str, Any]

    def text(self, name: str) -> str | None:
        value = self.args.get(name)
        return value if isinstance(value, str) else None

    def flag(self, name: str) -> bool | None:
        value = self.args.get(name)
        return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    value: str
    quoted: bool


# A fenced code block, a double- or single-quoted string, or a run of non-space characters
# (which may itself be key="quoted value").
_TOKEN = re.compile(
    r"```(?:[\w+-]*\n)?(?P<fence>.*?)```"
    r"|\"(?P<dq>(?:[^\"\\]|\\.)*)\""
    r"|'(?P<sq>[^']*)'"
    r"|(?P<word>(?:[^\s\"']|\"(?:[^\"\\]|\\.)*\"|'[^']*')+)",
    re.DOTALL,
)
_NAMED = re.compile(r"^(?P<key>[a-z_]+)=(?P<value>.*)$", re.DOTALL)
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return inner.replace('\\"', '"') if value[0] == '"' else inner
    return value


def _tokens(raw: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(raw):
        if match.group("fence") is not None:
            tokens.append(_Token(match.start(), match.end(), match.group("fence").strip(), True))
        elif match.group("dq") is not None:
            tokens.append(
                _Token(match.start(), match.end(), match.group("dq").replace('\\"', '"'), True)
            )
        elif match.group("sq") is not None:
            tokens.append(_Token(match.start(), match.end(), match.group("sq"), True))
        else:
            tokens.append(_Token(match.start(), match.end(), match.group("word"), False))
    if not tokens and raw.strip():
        raise InvalidArgument("Could not read the arguments: check the quotes.")
    return tokens


def _strip_fence(text: str) -> str:
    stripped = text.strip()
    match = re.fullmatch(r"```[\w+-]*\n?(.*?)```", stripped, re.DOTALL)
    return match.group(1).strip() if match else stripped


def _convert(spec: CommandSpec, param: Param, value: str) -> Any:
    if param.kind is Kind.BOOL:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidArgument(
            f"{param.name} must be true or false, not {value[:40]!r}. Usage: {spec.usage()}"
        )
    return value


def split_command(line: str, prefix: str = "!") -> tuple[str, str] | None:
    """``"!train x=1"`` → ``("train", "x=1")``; None when the line is not a command."""
    stripped = line.strip()
    if not prefix or not stripped.startswith(prefix) or len(stripped) == len(prefix):
        return None
    body = stripped[len(prefix) :]
    if body[0].isspace():
        return None
    # The name ends at any whitespace (a line break, a tab, a carriage return), not only a space.
    name, *rest = body.split(None, 1)
    return name.lower(), rest[0].strip() if rest else ""


def parse_arguments(spec: CommandSpec, raw: str) -> ParsedCommand:
    """Parse the arguments of ``spec``'s command from ``raw`` (the text after its name)."""
    args: dict[str, Any] = {}
    positional = [p for p in spec.params if p.positional]
    tokens = _tokens(raw)

    # Trailing key=value tokens name their parameter even after a rest parameter has begun.
    named_tail = len(tokens)
    while named_tail > 0:
        token = tokens[named_tail - 1]
        match = None if token.quoted else _NAMED.match(token.value)
        if not match or spec.param(match.group("key")) is None:
            break
        named_tail -= 1

    index = 0
    position = 0
    while index < len(tokens):
        token = tokens[index]
        match = None if token.quoted else _NAMED.match(token.value)
        param = spec.param(match.group("key")) if match else None
        if match and param is not None:
            if param.name in args:
                raise InvalidArgument(f"{param.name} is given twice. Usage: {spec.usage()}")
            value = _unquote(match.group("value"))
            args[param.name] = _convert(spec, param, _strip_fence(value) if param.rest else value)
            index += 1
            continue
        while position < len(positional) and positional[position].name in args:
            position += 1
        if position >= len(positional):
            raise InvalidArgument(
                f"Too many arguments (quote values with spaces). Usage: {spec.usage()}"
            )
        param = positional[position]
        if param.rest:
            end = tokens[named_tail - 1].end if named_tail > index else token.end
            value = _strip_fence(raw[token.start : end])
            args[param.name] = value
            index = max(named_tail, index + 1)
        else:
            args[param.name] = _convert(spec, param, token.value)
            index += 1
        position += 1

    return _complete(spec, args)


def arguments_from(spec: CommandSpec, values: Mapping[str, str | bool | None]) -> ParsedCommand:
    """``spec``'s arguments from values a front end already has apart (a slash command's
    options), held to the same rules as typed ones."""
    args: dict[str, Any] = {}
    for name, value in values.items():
        param = spec.param(name)
        if param is None:
            raise InvalidArgument(f"{spec.name} takes no {name[:40]}. Usage: {spec.usage()}")
        if value is None:
            continue
        if param.kind is Kind.BOOL and not isinstance(value, bool):
            value = _convert(spec, param, str(value))
        elif isinstance(value, str) and param.rest:
            value = _strip_fence(value)
        args[name] = value
    return _complete(spec, args)


def _complete(spec: CommandSpec, args: dict[str, Any]) -> ParsedCommand:
    for param in spec.params:
        if param.required and not (
            (isinstance(args.get(param.name), str) and args[param.name].strip())
            or isinstance(args.get(param.name), bool)
        ):
            raise InvalidArgument(f"Missing {param.name}. Usage: {spec.usage()}")
    return ParsedCommand(spec, args)
