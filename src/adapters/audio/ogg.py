"""Ogg Opus at the byte level: spotting a cut-off upload, and repacketizing voice messages.

Why repacketize: ffmpeg (7 and later) runs demuxing, decoding, filtering and muxing in separate
threads and hands every decoded frame from one to the next. A Discord voice message carries one
20 ms Opus frame per packet, so a minute of it is 3,000 hand-offs, and on a small machine those
wake-ups cost as much as the decoding itself. Opus allows up to 120 ms of frames in one packet
("code 3" packets, RFC 6716 section 3.2.5; libopus's ``opus_repacketizer`` does the same): the
frames are copied unchanged, so the decoded audio is identical sample for sample, and ffmpeg
makes a sixth of the hand-offs.

Only what is certainly safe is rewritten: a single Opus stream, pages whose packets all start and
end on that page, packets that parse exactly. Anything else is left as it came (ffmpeg reads it
either way), so the rewrite can make decoding faster but never different.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

CAPTURE: Final = b"OggS"  # every Ogg page starts with it
HEADER_BYTES: Final = 27  # a page header before its segment table
_HEADER = struct.Struct(
    "<4sBBqIII B"
)  # capture, version, type, granule, serial, sequence, crc, segments
_CONTINUED: Final = 0x01  # header type: the page starts with the rest of the previous page's packet

OPUS_HEAD: Final = b"OpusHead"
MAX_PACKET_SAMPLES: Final = 5_760  # 120 ms at 48 kHz: the most one Opus packet may hold
MAX_FRAMES: Final = 48  # RFC 6716: at most 48 frames in a code 3 packet
MAX_FRAME_BYTES: Final = 1_275

# Samples (at 48 kHz) per frame for each of the 32 TOC configurations (RFC 6716, table 2):
# SILK NB/MB/WB 10/20/40/60 ms, Hybrid SWB/FB 10/20 ms, CELT NB/WB/SWB/FB 2.5/5/10/20 ms.
_FRAME_SAMPLES: Final = (480, 960, 1920, 2880) * 3 + (480, 960) * 2 + (120, 240, 480, 960) * 4


class TruncatedPage(ValueError):
    """The stream ends inside a page: cut off before its end."""


def cut_short(data: bytes) -> bool:
    """Whether ``data`` is an Ogg stream whose last page is incomplete: a download or upload
    cut off mid-file. ffmpeg decodes such a file's complete pages without a word (not even a
    warning), so a cut voice message would otherwise be heard as a shorter, complete one.

    Only a page cut in the middle counts; anything that is not a clean chain of Ogg pages is
    left to ffmpeg to judge. Cheap enough for the event loop: it reads page headers only.
    """
    try:
        for _ in _page_spans(data):
            pass
    except TruncatedPage:
        return True
    except ValueError:
        return False
    return False


def _page_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each page, in order, reading headers only. Raises ``TruncatedPage`` if
    the data ends inside a page, ``ValueError`` at anything else that is not a page."""
    position = 0
    while position < len(data):
        if len(data) - position < HEADER_BYTES:
            if CAPTURE.startswith(data[position : position + 4]):  # a page header, cut short
                raise TruncatedPage("truncated page header")
            raise ValueError("not an Ogg page")
        if data[position : position + 4] != CAPTURE or data[position + 4] != 0:
            raise ValueError("not an Ogg page")
        body_at = position + HEADER_BYTES + data[position + HEADER_BYTES - 1]
        if body_at > len(data):
            raise TruncatedPage("truncated page")
        end = body_at + sum(data[position + HEADER_BYTES : body_at])
        if end > len(data):
            raise TruncatedPage("truncated page")
        yield position, end
        position = end


def crc(page: bytes | bytearray) -> int:
    """The Ogg page checksum: CRC-32 with polynomial 0x04C11DB7, MSB first, initial value 0 and
    no final XOR. zlib's CRC-32 is the same polynomial bit-reflected, so reflecting every byte
    in and the result out gives Ogg's checksum at C speed."""
    reflected = zlib.crc32(page.translate(_REVERSED_BITS), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


_REVERSED_BITS: Final = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


@dataclass(frozen=True, slots=True)
class Page:
    """One Ogg page: its header fields and its packets' bytes as laced on this page."""

    header_type: int
    granule: int
    serial: int
    sequence: int
    lacing: bytes
    body: bytes
    raw: bytes = b""  # the page as read, checksum and all (empty for a page built here)

    @property
    def whole_packets(self) -> bool:
        """Whether every packet on the page starts and ends on it."""
        return not self.header_type & _CONTINUED and (not self.lacing or self.lacing[-1] < 255)

    def packets(self) -> list[bytes]:
        """The packets (or packet pieces) on the page, split at lacing values below 255."""
        packets, start, length = [], 0, 0
        for value in self.lacing:
            length += value
            if value < 255:
                packets.append(self.body[start : start + length])
                start, length = start + length, 0
        if length:
            packets.append(self.body[start : start + length])
        return packets

    def to_bytes(self) -> bytes:
        header = _HEADER.pack(
            CAPTURE,
            0,
            self.header_type,
            self.granule,
            self.serial,
            self.sequence,
            0,
            len(self.lacing),
        )
        page = bytearray(header + self.lacing + self.body)
        page[22:26] = crc(page).to_bytes(4, "little")
        return bytes(page)


def pages(data: bytes) -> Iterator[Page]:
    """The pages of an Ogg stream, in order. Raises ``ValueError`` (``TruncatedPage`` when the
    data ends inside a page) at the first byte that is not a whole page."""
    for start, end in _page_spans(data):
        _, _, header_type, granule, serial, sequence, _, count = _HEADER.unpack_from(data, start)
        body_at = start + HEADER_BYTES + count
        yield Page(
            header_type,
            granule,
            serial,
            sequence,
            data[start + HEADER_BYTES : body_at],
            data[body_at:end],
            data[start:end],
        )


def repacketize_opus(data: bytes) -> bytes | None:
    """``data`` (an Ogg Opus file) with each page's 20 ms packets joined into packets of up to
    120 ms, or ``None`` when there is nothing to gain or it is not certainly safe: not Ogg, not
    Opus, several logical streams, or a packet that does not parse. Page boundaries, granule
    positions and sequence numbers are kept, so timing, pre-skip and end trimming are unchanged.
    """
    stream = _opus_pages(data)
    if stream is None:
        return None
    out: list[bytes] = []
    changed = False
    first = _header_pages(stream)
    for index, page in enumerate(stream):
        rewritten = None
        if index >= first and page.whole_packets:
            rewritten = _join_packets(page.packets())
        lacing = b"".join(_lacing(len(packet)) for packet in rewritten or ())
        if rewritten is None or len(lacing) > 255:
            out.append(page.raw)
            continue
        changed = True
        out.append(
            Page(
                page.header_type,
                page.granule,
                page.serial,
                page.sequence,
                lacing,
                b"".join(rewritten),
            ).to_bytes()
        )
    return b"".join(out) if changed else None


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of an Ogg Opus stream that decodes on its own.

    ``data`` is a complete stream: the original header pages, then ``lead_in`` samples of
    pre-roll taken from before the stretch (the decoder needs them to settle: RFC 7845 asks for
    80 ms), then the stretch. Dropping the first ``lead_in`` decoded samples leaves exactly
    ``samples`` samples, so the pieces' audio, joined in order, is the whole stream's.
    Samples are counted at 48 kHz, Opus's granule rate, whatever rate the audio is decoded to.
    """

    data: bytes
    lead_in: int
    samples: int


OPUS_RATE: Final = 48_000  # granule positions count 48 kHz samples, whatever the input rate was
PRE_ROLL: Final = 3_840  # 80 ms: what RFC 7845 asks a decoder to see before audio it keeps


def declared_duration(data: bytes) -> float | None:
    """A quick estimate of an Ogg Opus stream's length in seconds, from its first and last
    pages alone (no walk through the stream), or ``None`` if they do not look like one. For
    planning only: nothing here checks the pages in between."""
    last = data.rfind(CAPTURE)
    if not data.startswith(CAPTURE) or last < 0 or len(data) - last < HEADER_BYTES:
        return None
    try:
        head = next(pages(data))
    except (ValueError, StopIteration):
        return None
    if not head.body.startswith(OPUS_HEAD) or len(head.body) < 19:
        return None
    granule: int = _HEADER.unpack_from(data, last)[3]
    return max(0, granule - int.from_bytes(head.body[10:12], "little")) / OPUS_RATE


def split_opus(data: bytes, parts: int) -> list[Piece] | None:
    """``data`` (an Ogg Opus stream) cut into ``parts`` pieces of about equal length that can be
    decoded side by side, or ``None`` if it is not a single Ogg Opus stream or has no place to
    cut (cuts fall between pages, where no packet spans the boundary and the page before says
    where it ends)."""
    stream = _opus_pages(data)
    if stream is None or parts < 2:
        return None
    first = _header_pages(stream)
    skip = _pre_skip(stream)
    headers = b"".join(page.raw for page in stream[:first])
    total = stream[-1].granule
    # A page can start a piece if it starts a packet and the page before it ends one.
    starts = [
        index
        for index in range(first + 1, len(stream))
        if not stream[index].header_type & _CONTINUED and stream[index - 1].granule >= 0
    ]
    cuts: list[int] = []
    for part in range(1, parts):
        wanted = total * part // parts
        later = [index for index in starts if stream[index - 1].granule >= wanted]
        if not later or (cuts and later[0] <= cuts[-1]):
            return None
        cuts.append(later[0])
    pieces = [Piece(headers + _raw(stream, first, cuts[0]), 0, stream[cuts[0] - 1].granule - skip)]
    for cut, end in itertools.pairwise([*cuts, len(stream)]):
        # Pre-roll: whole pages before the cut, enough to cover the pre-skip (which the decoder
        # drops again at the start of every stream) and 80 ms more.
        begin = max(
            (
                index
                for index in [first, *starts]
                if index < cut and _covers(stream, index, cut, skip)
            ),
            default=first,
        )
        lead_in = stream[cut - 1].granule - stream[begin - 1].granule - skip
        samples = stream[end - 1].granule - stream[cut - 1].granule
        if lead_in < 0 or samples <= 0:
            return None
        pieces.append(Piece(headers + _raw(stream, begin, end), lead_in, samples))
    return pieces


def _covers(stream: list[Page], begin: int, cut: int, skip: int) -> bool:
    return stream[cut - 1].granule - stream[begin - 1].granule >= skip + PRE_ROLL


def _raw(stream: list[Page], begin: int, end: int) -> bytes:
    return b"".join(page.raw for page in stream[begin:end])


def _opus_pages(data: bytes) -> list[Page] | None:
    """The pages of a single-stream Ogg Opus file with its audio, or ``None``."""
    try:
        stream = list(pages(data))
    except ValueError:
        return None
    if not stream or not stream[0].body.startswith(OPUS_HEAD) or len(stream[0].body) < 19:
        return None
    if any(page.serial != stream[0].serial for page in stream):
        return None
    if _header_pages(stream) >= len(stream):
        return None
    return stream


def _pre_skip(stream: list[Page]) -> int:
    """Samples the decoder drops at the start of the stream (OpusHead bytes 10-11)."""
    return int.from_bytes(stream[0].body[10:12], "little")


def _header_pages(stream: list[Page]) -> int:
    """How many pages the two header packets (OpusHead, OpusTags) take; the tags packet may
    span several pages (cover art)."""
    packets = 0
    for index, page in enumerate(stream):
        packets += len(page.packets()) - (1 if page.header_type & _CONTINUED else 0)
        if packets >= 2 and page.whole_packets:
            return index + 1
    return len(stream)


def _lacing(length: int) -> bytes:
    return b"\xff" * (length // 255) + bytes((length % 255,))


def _join_packets(packets: list[bytes]) -> list[bytes] | None:
    """Consecutive packets' frames regrouped into as few packets as Opus allows, or ``None`` if
    a packet does not parse or nothing would be joined."""
    groups: list[tuple[int, list[bytes]]] = []  # (TOC config and stereo bits, frames)
    head, current, room = -1, [], 0  # the open group, and how many more frames it can take
    for packet in packets:
        if packet and not packet[0] & 0x03 and len(packet) <= MAX_FRAME_BYTES + 1:
            packet_head, frames = packet[0], [packet[1:]]  # one frame: nearly every packet
        else:
            parsed = _frames(packet)
            if parsed is None:
                return None
            packet_head, frames = parsed
        if packet_head == head and len(frames) <= room:
            current.extend(frames)
            room -= len(frames)
            continue
        head, current = packet_head, frames
        room = min(MAX_PACKET_SAMPLES // _FRAME_SAMPLES[head >> 3], MAX_FRAMES) - len(frames)
        groups.append((head, current))
    if len(groups) == len(packets):
        return None
    return [_code3(head, frames) for head, frames in groups]


def _frames(packet: bytes) -> tuple[int, list[bytes]] | None:
    """(TOC byte without its frame-count code, the packet's frames), per RFC 6716 section 3.2,
    or ``None`` if the packet is malformed."""
    if not packet:
        return None
    toc = packet[0]
    head, code = toc & 0xFC, toc & 0x03
    if code == 0:
        frames = [packet[1:]]
    elif code == 1:
        if (len(packet) - 1) % 2:
            return None
        half = (len(packet) - 1) // 2
        frames = [packet[1 : 1 + half], packet[1 + half :]]
    elif code == 2:
        size = _read_length(packet, 1)
        if size is None:
            return None
        length, at = size
        if at + length > len(packet):
            return None
        frames = [packet[at : at + length], packet[at + length :]]
    else:
        frames_or_none = _code3_frames(packet)
        if frames_or_none is None:
            return None
        frames = frames_or_none
    if any(len(frame) > MAX_FRAME_BYTES for frame in frames):
        return None
    return head, frames


def _code3_frames(packet: bytes) -> list[bytes] | None:
    if len(packet) < 2:
        return None
    variable, padded, count = packet[1] & 0x80, packet[1] & 0x40, packet[1] & 0x3F
    if count == 0 or count * _FRAME_SAMPLES[packet[0] >> 3] > MAX_PACKET_SAMPLES:
        return None
    at, end = 2, len(packet)
    if padded:
        while True:
            if at >= end:
                return None
            value = packet[at]
            at += 1
            end -= 254 if value == 255 else value
            if value != 255:
                break
    if variable:
        lengths = []
        for _ in range(count - 1):
            size = _read_length(packet, at)
            if size is None:
                return None
            length, at = size
            lengths.append(length)
        lengths.append(end - at - sum(lengths))
    else:
        if (end - at) % count:
            return None
        lengths = [(end - at) // count] * count
    if end < at or any(length < 0 for length in lengths):
        return None
    frames = []
    for length in lengths:
        frames.append(packet[at : at + length])
        at += length
    return frames if at == end else None


def _read_length(packet: bytes, at: int) -> tuple[int, int] | None:
    """A frame length coded in one or two bytes (RFC 6716 section 3.2.1), and where it ends."""
    if at >= len(packet):
        return None
    first = packet[at]
    if first < 252:
        return first, at + 1
    if at + 1 >= len(packet):
        return None
    return first + 4 * packet[at + 1], at + 2


def _write_length(length: int) -> bytes:
    if length < 252:
        return bytes((length,))
    first = 252 + (length & 3)
    return bytes((first, (length - first) >> 2))


def _code3(head: int, frames: list[bytes]) -> bytes:
    """One packet holding ``frames``: code 0 for one frame, else code 3 with variable sizes."""
    if len(frames) == 1:
        return bytes((head,)) + frames[0]
    sizes = b"".join(_write_length(len(frame)) for frame in frames[:-1])
    return bytes((head | 3, 0x80 | len(frames))) + sizes + b"".join(frames)
