"""Media the emulator fabricates: JPEG photos and their size variants, OGG/Opus voice notes, stickers.

Why: the bot downloads and inspects what people send (photos of documents, voice notes from a
TKSK), so those files must be real — a JPEG Pillow can open, an Ogg stream with valid page CRCs —
and photos must come in several sizes exactly like Telegram delivers them (``photo`` is an array of
PhotoSize, smallest first, the largest ≤ 1280 px on its long side).
"""

from __future__ import annotations

import io
import random
import struct
from dataclasses import dataclass

from PIL import Image, ImageDraw

# Long-side targets of Telegram's photo variants: s (thumbnail), m, x, y.
PHOTO_SIZES = (90, 320, 800, 1280)


class NotAnImage(ValueError):
    """The uploaded bytes are not a picture Telegram could process."""


def make_jpeg(width: int = 1600, height: int = 1200, seed: int | None = None, label: str = "") -> bytes:
    """A real, slightly varied JPEG (gradient + shapes) so different calls differ in content."""
    rnd = random.Random(seed)
    img = Image.new("RGB", (width, height), (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rnd.randrange(width), rnd.randrange(height)
        x1, y1 = x0 + rnd.randrange(1, width // 2 + 2), y0 + rnd.randrange(1, height // 2 + 2)
        draw.rectangle((x0, y0, x1, y1), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    if label:
        draw.text((10, 10), label, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class PhotoVariant:
    data: bytes
    width: int
    height: int


def photo_variants(data: bytes) -> list[PhotoVariant]:
    """Telegram-like PhotoSize ladder: each target ≤ the original, plus the original capped at 1280."""
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception as exc:  # noqa: BLE001 - any decoding failure means Telegram would refuse it
        raise NotAnImage(str(exc)) from exc
    if img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    long_side = max(img.size)
    targets = [t for t in PHOTO_SIZES if t < long_side] + [min(long_side, PHOTO_SIZES[-1])]
    variants = []
    for target in sorted(set(targets)):
        scale = target / long_side
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        resized = img.resize(size, Image.Resampling.LANCZOS) if size != img.size else img
        out = io.BytesIO()
        resized.save(out, "JPEG", quality=87 if target > 90 else 70)
        variants.append(PhotoVariant(out.getvalue(), size[0], size[1]))
    return variants


def make_sticker_webp(seed: int | None = None) -> bytes:
    rnd = random.Random(seed)
    img = Image.new("RGBA", (512, 512), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((40, 40, 472, 472), fill=(rnd.randrange(256), 200, 80, 255))
    out = io.BytesIO()
    img.save(out, "WEBP")
    return out.getvalue()


# -------------------------------------------------------------------------------------- Ogg / Opus
def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) & 0xFF) ^ b]
    return crc


def _ogg_page(packet: bytes, serial: int, seq: int, granule: int, flags: int) -> bytes:
    segments = []
    rest = len(packet)
    while rest >= 255:
        segments.append(255)
        rest -= 255
    segments.append(rest)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(segments))
    page = header + bytes(segments) + packet
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def make_ogg_opus(duration: float = 3.0, seed: int | None = None) -> bytes:
    """A valid Ogg Opus stream of ``duration`` seconds of silence (20 ms CELT frames)."""
    serial = random.Random(seed).randrange(1, 2**31)
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"tg-emulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_ogg_page(head, serial, 0, 0, 0x02), _ogg_page(tags, serial, 1, 0, 0)]
    frames = max(1, int(duration * 50))
    # TOC 0xF8: CELT-only fullband 20 ms, one frame; 0xFF 0xFE = a silent frame payload.
    silent = b"\xf8\xff\xfe"
    per_page = 50
    seq = 2
    granule = 312
    for start in range(0, frames, per_page):
        count = min(per_page, frames - start)
        granule += 960 * count
        last = start + count >= frames
        # One packet per page keeps the writer simple; pack frames as separate packets via lacing.
        body = silent * 1
        page_packets = [body] * count
        lacing = bytes(len(p) for p in page_packets)
        header = struct.pack("<4sBBqIIIB", b"OggS", 0, 0x04 if last else 0, granule, serial, seq, 0, count)
        page = header + lacing + b"".join(page_packets)
        crc = _ogg_crc(page)
        pages.append(page[:22] + struct.pack("<I", crc) + page[26:])
        seq += 1
    return b"".join(pages)
