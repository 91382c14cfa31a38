"""The command language shared by every driving adapter (console, Discord).

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

from .errors import InvalidArgument, UnknownCommand


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

    def usage(self, prefix: str = "!") -> str:
        return " ".join([f"{prefix}{self.name}", *(p.usage for p in self.params)])

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


_P = Param
COMMANDS: Mapping[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("hi", "Say hello."),
        CommandSpec(
            "help",
            "List the commands, or show one command's usage.",
            (_P("command", "a command name"),),
        ),
        CommandSpec("instruction", "Show the instructions for trainers and users."),
        CommandSpec("join", "Join your voice channel and speak my answers there."),
        CommandSpec("leave", "Leave the voice channel."),
        CommandSpec(
            "train",
            "Train a model on inline data, an attachment, workspace data or the corrections.",
            (
                _P("data", "inline examples (quoted, or in a code block)"),
                _P("data_dir", "a dataset folder or file in the workspace"),
                _P(
                    "positive",
                    "label plain documents positive (true) or negative (false); "
                    "on chat examples: wanted or unwanted",
                    Kind.BOOL,
                ),
                _P("method", "trainer: fewshot, local or openai", positional=False),
                _P(
                    "corrections",
                    "add the recorded corrections (true/false); every one of them trains",
                    Kind.BOOL,
                    positional=False,
                ),
                _P(
                    "holdout",
                    "hold some corrections out for testing (true/false; default false)",
                    Kind.BOOL,
                    positional=False,
                ),
                _P("name", "name for the dataset", positional=False),
            ),
            trainer_only=True,
        ),
        CommandSpec(
            "test",
            "Test a model on inline JSON, an attachment, workspace data or a dataset.",
            (
                _P("data", "test examples as JSON", rest=True),
                _P("data_dir", "a test file or folder in the workspace", positional=False),
                _P("dataset", "a saved dataset name (its held-out split)", positional=False),
                _P("model", "the model to test (default: the active one)", positional=False),
                _P("baseline", "a second model to compare against", positional=False),
            ),
            trainer_only=True,
        ),
        CommandSpec(
            "fix",
            "Turn a failure of your last !test into a correction.",
            (
                _P("number", "the failure's number in the !test report", required=True),
                _P("text", "the right answer (default: the expected one)", rest=True),
            ),
            trainer_only=True,
        ),
        CommandSpec(
            "correct",
            "Correct one of my answers: the message id and the right answer.",
            (
                _P("message_id", "id of my answer (or of your message)", required=True),
                _P("text", "the right answer", required=True, rest=True),
            ),
        ),
        CommandSpec(
            "feedback",
            "Tell the trainers what you think of the bot.",
            (_P("text", "your feedback", required=True, rest=True),),
        ),
        CommandSpec(
            "archive",
            "Zip a workspace folder into archives/ with a manifest.",
            (_P("folder", "a folder in the workspace", required=True),),
            trainer_only=True,
        ),
        CommandSpec(
            "select_dataset",
            "Use a workspace folder as the dataset for !train, labelled, and archive it.",
            (
                _P("folder", "a folder in the workspace", required=True),
                _P(
                    "positive", "label its documents positive (true) or negative (false)", Kind.BOOL
                ),
            ),
            trainer_only=True,
        ),
        CommandSpec(
            "export",
            "Export a dataset, or the corrections and 👎 answers, as JSON Lines.",
            (_P("dataset", "a saved dataset's name (default: corrections and feedback)"),),
            trainer_only=True,
        ),
        CommandSpec(
            "getfile",
            "Send a file from the workspace.",
            (_P("path", "a file in the workspace", required=True),),
            trainer_only=True,
        ),
        CommandSpec(
            "transcribe",
            "Transcribe an audio file from the workspace.",
            (_P("path", "an audio file in the workspace", required=True),),
            trainer_only=True,
        ),
        CommandSpec(
            "jobs",
            "List training jobs, or refresh and show one.",
            (_P("job_id", "a job id"),),
            trainer_only=True,
        ),
        CommandSpec(
            "cancel",
            "Cancel a training job.",
            (_P("job_id", "a job id", required=True),),
            trainer_only=True,
        ),
        CommandSpec("models", "List the models I can answer with.", trainer_only=True),
        CommandSpec(
            "use",
            "Answer chat with this model from now on.",
            (_P("model", "a model id from !models", required=True),),
            trainer_only=True,
        ),
        CommandSpec(
            "persona",
            "Show or set my system prompt here ('reset': the default).",
            (_P("text", "the new system prompt, or reset", rest=True),),
            trainer_only=True,
        ),
        CommandSpec(
            "settings",
            "Show this server's settings, or set its trainer role.",
            (_P("trainer_role", "the role whose members may train here, or reset"),),
            trainer_only=True,
        ),
    )
}


def greeting(name: str) -> str:
    return (
        f"Hi {name}! I'm trainerbot. Talk to me, correct me with !correct when I'm wrong, "
        "and type !help to see everything I can do."
    )


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


def _convert(spec: CommandSpec, param: Param, value: str, prefix: str) -> Any:
    if param.kind is Kind.BOOL:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidArgument(
            f"{param.name} must be true or false, not {value[:40]!r}. Usage: {spec.usage(prefix)}"
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


def parse_command(name: str, raw: str, prefix: str = "!") -> ParsedCommand:
    """Parse the arguments of command ``name`` from ``raw`` (the text after the command name)."""
    spec = COMMANDS.get(name)
    if spec is None:
        raise UnknownCommand(
            f"Unknown command {prefix}{name[:40]}. Type {prefix}help to see the commands."
        )
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
                raise InvalidArgument(f"{param.name} is given twice. Usage: {spec.usage(prefix)}")
            value = _unquote(match.group("value"))
            args[param.name] = _convert(
                spec, param, _strip_fence(value) if param.rest else value, prefix
            )
            index += 1
            continue
        while position < len(positional) and positional[position].name in args:
            position += 1
        if position >= len(positional):
            raise InvalidArgument(
                f"Too many arguments (quote values with spaces). Usage: {spec.usage(prefix)}"
            )
        param = positional[position]
        if param.rest:
            end = tokens[named_tail - 1].end if named_tail > index else token.end
            value = _strip_fence(raw[token.start : end])
            args[param.name] = value
            index = max(named_tail, index + 1)
        else:
            args[param.name] = _convert(spec, param, token.value, prefix)
            index += 1
        position += 1

    for param in spec.params:
        if param.required and not (
            (isinstance(args.get(param.name), str) and args[param.name].strip())
            or isinstance(args.get(param.name), bool)
        ):
            raise InvalidArgument(f"Missing {param.name}. Usage: {spec.usage(prefix)}")
    return ParsedCommand(spec, args)
