"""Voice notes from the browser: WebM/Opus (what Chromium's MediaRecorder makes) remuxed into OGG/Opus.

Why: Telegram voice messages are OGG/Opus and the bot may download and keep them; Chromium records only
WebM (or MP4). The Opus packets are the same in both containers, so the remux is lossless: read the
Matroska/WebM blocks of the audio track, write them as Ogg pages with granule positions, and take the
duration from the Opus packets themselves.
"""

from __future__ import annotations

import struct

from .media import _ogg_page

# Matroska element ids
_MASTERS = {0x18538067, 0x1F43B675, 0xA0, 0x1654AE6B, 0xAE}  # Segment, Cluster, BlockGroup, Tracks, TrackEntry
_SIMPLE_BLOCK, _BLOCK, _CODEC_PRIVATE, _CODEC_ID = 0xA3, 0xA1, 0x63A2, 0x86
_EBML_HEADER = b"\x1a\x45\xdf\xa3"


class NotOpusAudio(ValueError):
    """The bytes are neither OGG/Opus nor WebM/Opus."""


def is_ogg(data: bytes) -> bool:
    return data[:4] == b"OggS"


def is_webm(data: bytes) -> bool:
    return data[:4] == _EBML_HEADER


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int, bool]:
    """(value, new position, all-ones) of an EBML variable-size integer."""
    if pos >= len(data):
        raise NotOpusAudio("truncated WebM")
    first = data[pos]
    length = 1
    mask = 0x80
    while length <= 8 and not first & mask:
        mask >>= 1
        length += 1
    if length > 8 or pos + length > len(data):
        raise NotOpusAudio("bad EBML number")
    value = first if keep_marker else first & (mask - 1)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    all_ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, pos + length, all_ones


def opus_samples(packet: bytes) -> int:
    """Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 §3.1)."""
    if not packet:
        return 0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame = (480, 960, 1920, 2880)[config % 4]
    elif config < 16:
        frame = (480, 960)[config % 2]
    else:
        frame = (120, 240, 480, 960)[config % 4]
    code = toc & 3
    frames = 1 if code == 0 else 2 if code in (1, 2) else (packet[1] & 0x3F if len(packet) > 1 else 1)
    return frame * frames


def _webm_opus(data: bytes) -> tuple[bytes | None, list[bytes]]:
    """(OpusHead from CodecPrivate or None, the Opus packets of the first audio track)."""
    pos = 0
    head: bytes | None = None
    codec: bytes | None = None
    track: int | None = None
    packets: list[bytes] = []
    while pos < len(data):
        element, pos, _ = _vint(data, pos, keep_marker=True)
        size, pos, unknown = _vint(data, pos, keep_marker=False)
        if element in _MASTERS:
            continue  # descend (Chromium writes Segment and Cluster with unknown size)
        if unknown:
            raise NotOpusAudio("unknown-size element that is not a container")
        body = data[pos : pos + size]
        pos += size
        if element == _CODEC_ID:
            codec = body
        elif element == _CODEC_PRIVATE:
            head = body
        elif element in (_SIMPLE_BLOCK, _BLOCK):
            number, p, _ = _vint(body, 0, keep_marker=False)
            flags = body[p + 2] if len(body) > p + 2 else 0
            if flags & 0x06:
                raise NotOpusAudio("laced WebM blocks are not supported")
            if track is None:
                track = number
            if number == track:
                packets.append(body[p + 3 :])
    if codec is not None and codec != b"A_OPUS":
        raise NotOpusAudio(f"WebM audio codec {codec.decode(errors='replace')} is not Opus")
    if not packets:
        raise NotOpusAudio("no audio in the WebM file")
    return head, packets


def webm_to_ogg(data: bytes, serial: int = 0x5A4E) -> tuple[bytes, float]:
    """Remux WebM/Opus into OGG/Opus; returns (ogg bytes, duration in seconds)."""
    head, packets = _webm_opus(data)
    if head is None or not head.startswith(b"OpusHead"):
        head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"uep-sandbox"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page(head, serial, 0, 0, 0x02), _ogg_page(tags, serial, 1, 0, 0)]
    pre_skip = struct.unpack_from("<H", head, 10)[0] if len(head) >= 12 else 0
    granule = 0
    for i, packet in enumerate(packets):
        granule += opus_samples(packet)
        last = i == len(packets) - 1
        pages.append(_ogg_page(packet, serial, i + 2, granule, 0x04 if last else 0))
    return b"".join(pages), max(0.0, (granule - pre_skip) / 48000)


def ogg_duration(data: bytes) -> float:
    """Duration of an OGG/Opus stream from its last granule position (0 when unreadable)."""
    idx = data.rfind(b"OggS")
    if idx < 0 or idx + 14 > len(data):
        return 0.0
    granule = struct.unpack_from("<q", data, idx + 6)[0]
    pre_skip = 0
    head = data.find(b"OpusHead")
    if head >= 0 and head + 12 <= len(data):
        pre_skip = struct.unpack_from("<H", data, head + 10)[0]
    return max(0.0, (granule - pre_skip) / 48000)


def voice_from_upload(data: bytes) -> tuple[bytes, int]:
    """OGG/Opus bytes and whole seconds (at least 1) for any browser recording or uploaded voice file."""
    if is_ogg(data):
        if b"OpusHead" not in data[:200]:
            raise NotOpusAudio("the OGG file is not Opus audio")
        seconds = ogg_duration(data)
    elif is_webm(data):
        data, seconds = webm_to_ogg(data)
    else:
        raise NotOpusAudio("a voice note must be OGG/Opus (.ogg, .oga, .opus) or a WebM/Opus recording")
    return data, max(1, round(seconds))
