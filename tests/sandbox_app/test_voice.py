"""Browser recordings (WebM/Opus) become Telegram voice notes (OGG/Opus) without re-encoding."""

from __future__ import annotations

import struct

import pytest

from sandbox.media import _ogg_crc, make_ogg_opus
from sandbox.voice import NotOpusAudio, ogg_duration, opus_samples, voice_from_upload, webm_to_ogg

SILENT_20MS = b"\xf8\xff\xfe"  # CELT fullband 20 ms, one frame


def _ebml(element_id: int, body: bytes, *, unknown_size: bool = False) -> bytes:
    ident = element_id.to_bytes((element_id.bit_length() + 7) // 8, "big")
    if unknown_size:
        return ident + b"\x01\xff\xff\xff\xff\xff\xff\xff" + body
    size = len(body)
    assert size < 2**28
    return ident + (size | (1 << 28)).to_bytes(4, "big") + body


def make_webm(packets: list[bytes], codec: bytes = b"A_OPUS") -> bytes:
    """A WebM file laid out like Chromium's MediaRecorder writes it (unknown-size Segment and Cluster)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    header = _ebml(0x1A45DFA3, _ebml(0x4282, b"webm"))
    track = _ebml(0xAE, _ebml(0xD7, b"\x01") + _ebml(0x86, codec) + _ebml(0x63A2, head))
    blocks = b"".join(_ebml(0xA3, b"\x81" + struct.pack(">h", i * 20) + b"\x80" + p) for i, p in enumerate(packets))
    cluster = _ebml(0x1F43B675, _ebml(0xE7, b"\x00") + blocks, unknown_size=True)
    return header + _ebml(0x18538067, _ebml(0x1654AE6B, track) + cluster, unknown_size=True)


def _ogg_pages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(flags, granule, packet) of every page; checks each page's CRC like a decoder would."""
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"OggS"
        flags, granule = data[pos + 5], struct.unpack_from("<q", data, pos + 6)[0]
        nseg = data[pos + 26]
        lacing = data[pos + 27 : pos + 27 + nseg]
        end = pos + 27 + nseg + sum(lacing)
        page = data[pos:end]
        crc = struct.unpack_from("<I", page, 22)[0]
        assert _ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == crc
        pages.append((flags, granule, page[27 + nseg :]))
        pos = end
    return pages


def test_webm_opus_is_remuxed_packet_for_packet() -> None:
    packets = [SILENT_20MS + bytes([i]) for i in range(150)]  # 3 seconds
    ogg, seconds = webm_to_ogg(make_webm(packets))
    pages = _ogg_pages(ogg)
    assert pages[0][2].startswith(b"OpusHead") and pages[0][0] == 0x02  # beginning of stream
    assert pages[1][2].startswith(b"OpusTags")
    assert [p[2] for p in pages[2:]] == packets
    assert pages[-1][0] == 0x04  # end of stream
    assert pages[-1][1] == 150 * 960
    assert seconds == pytest.approx((150 * 960 - 312) / 48000)
    assert voice_from_upload(make_webm(packets))[1] == 3


def test_ogg_upload_passes_through_with_its_duration() -> None:
    ogg = make_ogg_opus(4)
    data, seconds = voice_from_upload(ogg)
    assert data == ogg and seconds == 4
    assert ogg_duration(ogg) == pytest.approx(4, abs=0.01)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"ID3\x03\x00 an mp3 file", "OGG/Opus"),
        (make_webm([SILENT_20MS], codec=b"A_VORBIS"), "not Opus"),
        (make_webm([]), "no audio"),
        (b"OggS" + b"\0" * 60 + b"vorbis", "not Opus"),
    ],
)
def test_what_is_not_opus_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(NotOpusAudio, match=message):
        voice_from_upload(data)


@pytest.mark.parametrize(
    ("packet", "samples"),
    [
        (b"\xf8", 960),  # CELT 20 ms
        (b"\x08", 960),  # SILK 20 ms (config 1)
        (b"\xf9\x00", 1920),  # two frames of 20 ms
        (b"\xfb\x03", 2880),  # code 3, three frames
        (b"\x78", 960),  # hybrid 20 ms (config 15)
        (b"", 0),
    ],
)
def test_opus_packet_durations(packet: bytes, samples: int) -> None:
    assert opus_samples(packet) == samples
