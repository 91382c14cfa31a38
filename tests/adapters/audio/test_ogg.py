"""The Ogg Opus byte work, checked against the real ffmpeg: repacketized and cut streams must
decode to the same audio as the stream they came from."""

from __future__ import annotations

import array
import random
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from audio_fixtures import LONG_VOICE_SECONDS, VOICE_MESSAGE_OPTIONS, AudioFixtures, encode

from trainerbot.adapters.audio import ogg

Packer = Callable[[list[bytes]], list[bytes]]


def decode(ffmpeg: str, data: bytes, rate: int = 48_000) -> bytes:
    """``data`` decoded by ffmpeg to mono 16-bit PCM at ``rate``; ffmpeg must not complain."""
    output = ("-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1")
    result = subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-i", "pipe:0", *output],
        input=data,
        capture_output=True,
        check=True,
    )
    assert result.stderr == b""
    return result.stdout


def audio_packets(data: bytes) -> list[bytes]:
    stream = list(ogg.pages(data))
    return [packet for page in stream[2:] for packet in page.packets()]


def reference_crc(page: bytes) -> int:
    """The Ogg checksum the slow, obvious way (RFC 3533: polynomial 0x04C11DB7, MSB first)."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def repack(data: bytes, packer: Packer) -> bytes:
    """``data`` with each audio page's packets replaced by ``packer``'s, pages kept as they are:
    a test's own Opus packetizer, to make streams with every packet code."""
    stream = list(ogg.pages(data))
    out = [page.raw for page in stream[:2]]
    for page in stream[2:]:
        packets = packer(page.packets())
        lacing = b"".join(b"\xff" * (len(p) // 255) + bytes((len(p) % 255,)) for p in packets)
        assert len(lacing) <= 255
        rebuilt = ogg.Page(
            page.header_type, page.granule, page.serial, page.sequence, lacing, b"".join(packets)
        )
        out.append(rebuilt.to_bytes())
    return b"".join(out)


def pairs(packets: list[bytes], join: Callable[[bytes, bytes], bytes | None]) -> list[bytes]:
    """Neighbouring one-frame packets joined by ``join`` where it can, the rest left alone."""
    out: list[bytes] = []
    index = 0
    while index < len(packets):
        first = packets[index]
        second = packets[index + 1] if index + 1 < len(packets) else None
        joined = None
        if second is not None and first[0] == second[0] and not first[0] & 3:
            joined = join(first, second)
        out.append(joined if joined is not None else first)
        index += 2 if joined is not None else 1
    return out


def code1(first: bytes, second: bytes) -> bytes | None:
    """Two frames of one size: TOC code 1."""
    if len(first) != len(second):
        return None
    return bytes((first[0] | 1,)) + first[1:] + second[1:]


def code2(first: bytes, second: bytes) -> bytes | None:
    """Two frames of any sizes: TOC code 2, the first frame's length written out."""
    size = len(first) - 1
    if size >= 252:
        coded = bytes((252 + (size & 3), (size - 252 - (size & 3)) >> 2))
    else:
        coded = bytes((size,))
    return bytes((first[0] | 2,)) + coded + first[1:] + second[1:]


def code3_padded(first: bytes, second: bytes) -> bytes | None:
    """Two frames in a variable-size code 3 packet with 300 bytes of padding (two padding
    length bytes: 255 means 254 and another byte follows)."""
    padding = 300
    header = bytes((first[0] | 3, 0x80 | 0x40 | 2, 255, padding - 254))
    return header + bytes((len(first) - 1,)) + first[1:] + second[1:] + bytes(padding)


def code3_constant(first: bytes, second: bytes) -> bytes | None:
    """Two frames of one size in a constant-size code 3 packet with a little padding."""
    if len(first) != len(second):
        return None
    return bytes((first[0] | 3, 0x40 | 2, 3)) + first[1:] + second[1:] + bytes(3)


# --- the checksum and the pages -----------------------------------------------------------------


def test_the_checksum_is_ogg_s(audio_fixtures: AudioFixtures) -> None:
    for page in ogg.pages(audio_fixtures.voice_message.read_bytes()):
        blanked = page.raw[:22] + bytes(4) + page.raw[26:]
        written = int.from_bytes(page.raw[22:26], "little")  # as ffmpeg wrote it

        assert ogg.crc(blanked) == written == reference_crc(blanked)


def test_the_checksum_of_any_bytes_matches_the_reference() -> None:
    noise = random.Random(7)
    for size in (0, 1, 27, 255, 4_000):
        data = noise.randbytes(size)
        assert ogg.crc(data) == reference_crc(data)


def test_a_page_rebuilt_from_its_fields_is_the_page(audio_fixtures: AudioFixtures) -> None:
    for page in ogg.pages(audio_fixtures.long_voice_message.read_bytes()):
        fields = (page.header_type, page.granule, page.serial, page.sequence)
        assert ogg.Page(*fields, page.lacing, page.body).to_bytes() == page.raw


@pytest.mark.parametrize("cut", [3, 30, -1])
def test_bytes_that_are_not_whole_pages_are_refused(
    audio_fixtures: AudioFixtures, cut: int
) -> None:
    data = audio_fixtures.voice_message.read_bytes()
    with pytest.raises(ValueError, match="truncated"):
        list(ogg.pages(data[:cut]))
    with pytest.raises(ValueError, match="not an Ogg page"):
        list(ogg.pages(b"RIFF" + data[4:]))


# --- repacketizing ------------------------------------------------------------------------------


def test_a_voice_message_repacketized_decodes_to_the_same_samples(
    audio_fixtures: AudioFixtures, ffmpeg_path: str
) -> None:
    original = audio_fixtures.long_voice_message.read_bytes()

    repacketized = ogg.repacketize_opus(original)

    assert repacketized is not None
    assert decode(ffmpeg_path, repacketized) == decode(ffmpeg_path, original)
    # 20 ms packets become 120 ms packets: a sixth as many, give or take a page's leftovers.
    assert len(audio_packets(repacketized)) * 5 < len(audio_packets(original))
    before, after = list(ogg.pages(original)), list(ogg.pages(repacketized))
    assert [(p.granule, p.sequence) for p in after] == [(p.granule, p.sequence) for p in before]


@pytest.mark.parametrize("packer", [code1, code2, code3_padded, code3_constant])
def test_packets_of_every_code_are_read_and_rejoined(
    audio_fixtures: AudioFixtures, ffmpeg_path: str, tmp_path: Path, packer: Callable[..., bytes]
) -> None:
    # Constant bit rate, so neighbouring frames have one size and code 1 packets can be made.
    cbr = encode(
        ffmpeg_path,
        audio_fixtures.speech_wav["station"],
        tmp_path / "cbr.ogg",
        (*VOICE_MESSAGE_OPTIONS, "-vbr", "off"),
    ).read_bytes()
    mixed = repack(cbr, lambda packets: pairs(packets, packer))
    expected = decode(ffmpeg_path, cbr)
    assert decode(ffmpeg_path, mixed) == expected  # the test's own packets are valid Opus
    assert any(packet[0] & 3 for packet in audio_packets(mixed))

    repacketized = ogg.repacketize_opus(mixed)

    assert repacketized is not None
    assert decode(ffmpeg_path, repacketized) == expected
    assert len(audio_packets(repacketized)) < len(audio_packets(mixed))


def test_packets_already_at_the_limit_leave_nothing_to_do(
    audio_fixtures: AudioFixtures,
) -> None:
    once = ogg.repacketize_opus(audio_fixtures.long_voice_message.read_bytes())
    assert once is not None

    assert ogg.repacketize_opus(once) is None


def test_a_page_with_a_packet_that_does_not_parse_is_left_as_it_was(
    audio_fixtures: AudioFixtures,
) -> None:
    stream = list(ogg.pages(audio_fixtures.long_voice_message.read_bytes()))
    target = stream[5]
    first, *rest = target.packets()
    # Code 1 promises two frames of one size, so an even payload; this one is odd.
    payload = first[1:] if (len(first) - 1) % 2 else first[1:] + b"\x00"
    broken_packets = [bytes((first[0] | 1,)) + payload, *rest]
    lacing = b"".join(b"\xff" * (len(p) // 255) + bytes((len(p) % 255,)) for p in broken_packets)
    broken_page = replace(target, lacing=lacing, body=b"".join(broken_packets)).to_bytes()
    broken = b"".join(
        [*(page.raw for page in stream[:5]), broken_page, *(p.raw for p in stream[6:])]
    )

    repacketized = ogg.repacketize_opus(broken)

    assert repacketized is not None
    after = [page.raw for page in ogg.pages(repacketized)]
    assert after[5] == broken_page
    assert after[6] != stream[6].raw


@pytest.mark.parametrize("name", ["random_ogg", "silence", "empty", "truncated_ogg"])
def test_anything_but_a_whole_ogg_opus_stream_is_left_alone(
    audio_fixtures: AudioFixtures, name: str
) -> None:
    data = getattr(audio_fixtures, name).read_bytes()

    assert ogg.repacketize_opus(data) is None
    assert ogg.split_opus(data, 2) is None
    if not data.startswith(b"OggS"):
        assert ogg.declared_duration(data) is None


def test_an_ogg_stream_that_is_not_opus_is_left_alone(
    audio_fixtures: AudioFixtures, ffmpeg_path: str, tmp_path: Path
) -> None:
    flac_in_ogg = encode(
        ffmpeg_path, audio_fixtures.speech_wav["numbers"], tmp_path / "speech.oga", ("-c:a", "flac")
    ).read_bytes()
    assert flac_in_ogg.startswith(b"OggS")

    assert ogg.repacketize_opus(flac_in_ogg) is None
    assert ogg.declared_duration(flac_in_ogg) is None


def test_two_streams_in_one_file_are_left_alone(audio_fixtures: AudioFixtures) -> None:
    data = audio_fixtures.voice_message.read_bytes()
    stream = list(ogg.pages(data))
    interleaved = (
        b"".join(page.raw for page in stream[:-1])
        + replace(stream[-1], serial=stream[-1].serial ^ 1).to_bytes()
    )

    assert ogg.repacketize_opus(interleaved) is None
    assert ogg.split_opus(interleaved, 2) is None


# --- durations and pieces -----------------------------------------------------------------------


def test_the_declared_duration_is_the_stream_s_length(
    audio_fixtures: AudioFixtures, ffmpeg_path: str
) -> None:
    data = audio_fixtures.long_voice_message.read_bytes()
    decoded_seconds = len(decode(ffmpeg_path, data)) / 2 / 48_000

    assert ogg.declared_duration(data) == pytest.approx(decoded_seconds, abs=0.001)
    assert decoded_seconds == pytest.approx(LONG_VOICE_SECONDS, abs=3)


@pytest.mark.parametrize("parts", [2, 3, 5])
@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_pieces_decoded_apart_and_joined_are_the_whole(
    audio_fixtures: AudioFixtures, ffmpeg_path: str, parts: int, rate: int
) -> None:
    data = ogg.repacketize_opus(audio_fixtures.long_voice_message.read_bytes())
    assert data is not None
    whole = decode(ffmpeg_path, data, rate)

    pieces = ogg.split_opus(data, parts)

    assert pieces is not None
    assert len(pieces) == parts
    joined = b""
    for piece in pieces:
        decoded = decode(ffmpeg_path, piece.data, rate)
        assert len(decoded) // 2 == (piece.lead_in + piece.samples) * rate // 48_000
        joined += decoded[piece.lead_in * rate // 48_000 * 2 :]
    assert len(joined) == len(whole)
    assert pieces[0].lead_in == 0
    assert all(piece.lead_in >= ogg.PRE_ROLL for piece in pieces[1:])
    # The same audio; where pieces meet, the resampler's edges differ by a hair.
    difference = max(
        abs(a - b) for a, b in zip(array.array("h", joined), array.array("h", whole), strict=True)
    )
    assert difference < 0.02 * 32_768


def test_a_stream_too_short_to_cut_gives_no_pieces(audio_fixtures: AudioFixtures) -> None:
    data = audio_fixtures.voice_message.read_bytes()  # about two seconds: one or two pages
    pages = len(list(ogg.pages(data)))

    assert ogg.split_opus(data, pages + 5) is None
    assert ogg.split_opus(data, 1) is None


def test_a_lying_last_page_changes_the_estimate_not_the_stream(
    audio_fixtures: AudioFixtures,
) -> None:
    data = audio_fixtures.voice_message.read_bytes()
    stream = list(ogg.pages(data))
    lying = (
        b"".join(page.raw for page in stream[:-1])
        + replace(stream[-1], granule=stream[-1].granule + 48_000 * 100).to_bytes()
    )

    assert ogg.declared_duration(lying) == pytest.approx(ogg.declared_duration(data) + 100)


# --- cut-off uploads ----------------------------------------------------------------------------


def test_a_complete_ogg_is_not_cut_short(audio_fixtures: AudioFixtures) -> None:
    assert not ogg.cut_short(audio_fixtures.voice_message.read_bytes())
    assert not ogg.cut_short(audio_fixtures.too_long.read_bytes())


@pytest.mark.parametrize("keep", [5, 27, 40, 0.3, 0.9, -1])
def test_an_ogg_cut_anywhere_inside_a_page_is_cut_short(
    audio_fixtures: AudioFixtures, keep: float
) -> None:
    data = audio_fixtures.voice_message.read_bytes()
    end = int(len(data) * keep) if isinstance(keep, float) else keep
    if data[end : end + 4] == b"OggS":  # a cut exactly between pages is not detectable
        end += 1

    assert ogg.cut_short(data[:end])


@pytest.mark.parametrize("name", ["random_ogg", "silence", "empty"])
def test_other_bytes_are_left_to_ffmpeg(audio_fixtures: AudioFixtures, name: str) -> None:
    path: Path = getattr(audio_fixtures, name)
    assert not ogg.cut_short(path.read_bytes())
