"""Records: one JSON object in any of the shapes a data file may hold, checked and made an example.

Shapes (the first that matches): ``messages`` → OpenAI chat; ``input`` (an object),
``preferred_output`` or ``non_preferred_output`` → OpenAI preference (DPO); a ``prompt``/
``completion`` pair (or ``input``/``output``, ``question``/``answer``) → single-turn chat;
``text``/``label`` → classification.

Checks follow OpenAI's fine-tuning data-preparation script: allowed roles are system, user and
assistant; allowed message keys are role, content, name and weight (0 or 1); allowed top-level
chat keys are messages, tools, parallel_tool_calls and wanted. A chat's completion is the last
assistant message not weighted 0; the messages before it are the prompt.

The ``positive`` flag: ``False`` marks chat-like examples ``wanted=False`` (what not to say); on
labelled data it is ignored, the data carries its labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..entities import ChatMessage, Example, Role
from .problems import CHAT, LABELLED, Collector, Problem, shown

_ROLES = frozenset(role.value for role in Role)
_ROLE_OF = {role.value: role for role in Role}
_MESSAGE_KEYS = frozenset({"role", "content", "name", "weight"})
_CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "wanted"})
_PREFERENCE_KEYS = frozenset({"input", "preferred_output", "non_preferred_output", "wanted"})
_INPUT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
_LABELLED_KEYS = frozenset({"text", "label"})
# Extra keys of the prompt/completion shape: what ``Example.to_dict`` writes besides the pair.
_PAIR_EXTRA_KEYS = frozenset({"rejected", "wanted", "origin"})
# The (input, answer) key pairs of the prompt/completion shape, and of CSV columns.
PAIRS = (("prompt", "completion"), ("input", "output"), ("question", "answer"))


def add_record(
    value: object,
    origin: str,
    positive: bool | None,
    out: Collector,
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
        shape = record_shape(value)
        if shape is None:
            errors.append(
                "missing messages (or prompt and completion, text and label, "
                "input and preferred_output)"
            )
        else:
            out.kinds.add(LABELLED if shape == "labelled" else CHAT)
            example = _SHAPES[shape](value, positive, errors, origin)
    if errors:
        prefix = "" if item is None else f"item {item}: "
        out.problems.extend(Problem(line, prefix + error) for error in errors)
    elif example is not None:
        out.examples.append(example)


def record_shape(value: Mapping[str, Any]) -> str | None:
    """Which shape ``value`` is in ("chat", "preference", "pair", "labelled"; module docstring), by
    its keys alone, or ``None`` when it has none of their keys."""
    if "messages" in value:
        return "chat"
    if (
        "preferred_output" in value
        or "non_preferred_output" in value
        or isinstance(value.get("input"), dict)
    ):
        return "preference"
    for prompt_key, completion_key in PAIRS:
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
        errors.append(f"unrecognised keys: {shown(unknown)}")


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
            errors.append(f"{label} has unrecognised keys: {shown(unknown)}")
        role, content = message.get("role"), message.get("content")
        if role is None:
            errors.append(f"{label} has no role")
        elif not isinstance(role, str) or role not in _ROLES:
            errors.append(f"{label} has unrecognised role {shown([json.dumps(role)])}")
        _text(
            content,
            errors,
            f"{label} has no content",
            f"{label} content is not a string",
            f"{label} has empty content",
        )
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
            errors.append(f"input has unrecognised keys: {shown(unknown)}")
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
        pair for pair in PAIRS if pair[0] in value or pair[1] in value
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
    return _text(
        value.get(key), errors, f"missing {key}", f"{key} must be a string", f"empty {key}"
    )


def _text(raw: object, errors: list[str], missing: str, not_text: str, empty: str) -> str | None:
    """``raw`` when it is a string that is not blank; else ``None``, and the problem that says
    which it is not (``missing`` for no value at all)."""
    if raw is None:
        errors.append(missing)
    elif not isinstance(raw, str):
        errors.append(not_text)
    elif not raw.strip():
        errors.append(empty)
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
