"""Reply splitting: the Discord bot sends a model's answer, which may be long and contain code, as
several messages, each within Discord's 2000-character limit.

Splits fall on line breaks where possible, then on spaces, and Markdown code fences are closed
and reopened around each split, so that every message renders on its own. Pure text: no
discord.py here.
"""

from __future__ import annotations

DISCORD_MESSAGE_LIMIT = 2000

# The smallest limit that leaves room for a reopened fence, some text and the closing fence.
MIN_LIMIT = 20

FENCE = "```"

# What closing a fence adds at the end of a chunk.
CLOSING = "\n" + FENCE


def split_reply(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, to send as Discord messages.

    Rules:
    - Every chunk is at most ``limit`` characters (``len``), never empty and never only
      whitespace. Empty or blank text gives ``[]``.
    - Text that fits is returned as one chunk, unchanged.
    - A chunk ends at the last line break that keeps it within the limit. A line too long for a
      chunk is split at its last space within the limit, or cut hard at the limit when it has no
      space. The line break or space at a split is dropped; nothing else is stripped, so a chunk
      may start or end with line breaks.
    - Code fences stay balanced. A fence line is a line starting with ```, maybe followed by a
      language tag (```python). A chunk that ends inside a fence gets a closing ``` line, and the
      next chunk reopens the fence with its opening line (plain ``` when that line is longer
      than half the limit). These added lines count toward the limit.
    - Nothing is lost: without the added fence lines, the chunks joined by the dropped line
      breaks and spaces give back the text. The one exception is whitespace that cannot share a
      chunk with any text, such as a trailing line break after the last split, or a blank run
      longer than a chunk: it is dropped.
    - ``limit`` below 20 raises ``ValueError``: fence lines need room.
    """
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT} characters, got {limit}")
    if not text.strip():
        return []
    if len(text) <= limit:
        return [text]

    # Lines not sent yet start at lines[index]; the first may be what is left of a split line.
    lines = text.split("\n")
    index = 0
    # The opening line of the fence that is open where the next chunk starts, if any.
    fence: str | None = None
    chunks: list[str] = []
    while index < len(lines):
        reopen = _reopen_line(fence, limit)
        taken, fence_after = _take_lines(lines, index, reopen, fence, limit)
        end = index + len(taken)

        if _has_text(taken) or end == len(lines):
            # Whole lines fit: split at the last line break that keeps the chunk within the
            # limit. Blank lines left at the very end are dropped.
            if _has_text(taken):
                chunks.append(_render(reopen, taken, fence_after))
            index = end
            fence = fence_after
            continue

        # Only blank lines, or none, fit before lines[end]: split that line after them.
        line = lines[end]
        used = len(_render(reopen, [*taken, ""], None))
        # Reserve room to close a fence open after the head: the fence open now, or the one that
        # the line itself opens when it is a fence line.
        closing = len(CLOSING) if fence is not None or line.startswith(FENCE) else 0
        room = max(limit - used - closing, 0)
        head, rest = _cut_line(line, room)
        if not head.strip():
            # No text fits after the blank lines: drop them, or else the blank start of the line.
            if taken:
                index = end
            else:
                lines[end] = rest
            continue
        fence_after = _fence_after(fence, head)
        chunks.append(_render(reopen, [*taken, head], fence_after))
        lines[end] = rest
        index = end
        fence = fence_after
    return chunks


def _take_lines(
    lines: list[str], start: int, reopen: str | None, fence: str | None, limit: int
) -> tuple[list[str], str | None]:
    """The most whole lines from ``lines[start]`` on that fit in one chunk, and the fence open
    after them.

    The chunk's length only grows with each line taken (a fence line costs at least as much as
    the closing line it saves), so the first line that does not fit ends the chunk.
    """
    prefix_length = 0 if reopen is None else len(reopen) + 1
    taken: list[str] = []
    content_length = 0
    for position in range(start, len(lines)):
        line = lines[position]
        next_fence = _fence_after(fence, line)
        next_length = content_length + len(line)
        if taken:
            next_length += 1
        closing_length = 0 if next_fence is None else len(CLOSING)
        if prefix_length + next_length + closing_length > limit:
            break
        taken.append(line)
        content_length = next_length
        fence = next_fence
    return taken, fence


def _cut_line(line: str, room: int) -> tuple[str, str]:
    """Split a line longer than ``room`` into a head that fits and the rest.

    At the last space within ``room`` that has text before it (the space is dropped), else
    hard at ``room``.
    """
    space = line.rfind(" ", 0, room + 1)
    if space > 0 and line[:space].strip():
        return line[:space], line[space + 1 :]
    return line[:room], line[room:]


def _fence_after(fence: str | None, line: str) -> str | None:
    """The fence open after ``line``, given the one open before it (``None`` when none is)."""
    if not line.startswith(FENCE):
        return fence
    if fence is None:
        return line
    return None


def _reopen_line(fence: str | None, limit: int) -> str | None:
    """The line that reopens ``fence`` at the start of a chunk: its opening line, or plain ```
    when that line would take more than half the chunk."""
    if fence is None:
        return None
    if len(fence) > limit // 2:
        return FENCE
    return fence


def _render(reopen: str | None, lines: list[str], fence_after: str | None) -> str:
    """A chunk: the reopened fence if any, the lines, and a closing line if a fence is open."""
    parts = [] if reopen is None else [reopen]
    parts.extend(lines)
    if fence_after is not None:
        parts.append(FENCE)
    return "\n".join(parts)


def _has_text(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)
