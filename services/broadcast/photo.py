"""A broadcast's picture uploaded from the web desk: checked with Pillow, stored, then sent with sendPhoto.

The upload must be a picture Pillow can read (JPEG, PNG or WebP) within Telegram's limits for photos (10 MB,
width + height at most 10,000 px, sides at most 20:1). It is stored re-encoded as a JPEG (turned upright, at
most :data:`MAX_SIDE` px a side, metadata such as a camera's GPS position dropped) under
``storage.media_dir/broadcasts/<sha256>.jpg``. The broadcast keeps ``path:<file>``
(``services.broadcast.sender.PHOTO_PATH_PREFIX``): the delivery worker uploads it once and every later message
re-uses Telegram's file_id.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from enum import StrEnum
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024   # Telegram's limit for a photo sent by upload
MAX_PIXELS = 40_000_000               # a decompression bomb is refused before it is decoded
MAX_SIDE = 2560                       # Telegram shows photos at most this large anyway
FORMATS = ("JPEG", "PNG", "WEBP")


class PhotoProblem(StrEnum):
    NOT_AN_IMAGE = "not_an_image"
    TOO_LARGE = "too_large"      # more than 10 MB
    BAD_SHAPE = "bad_shape"      # too many pixels, or sides Telegram refuses (w + h > 10,000, ratio > 20)


class PhotoRefused(Exception):
    def __init__(self, problem: PhotoProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def checked_jpeg(data: bytes) -> bytes:
    """The upload as the JPEG that will be sent, or PhotoRefused. CPU work: call it in a thread."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise PhotoRefused(PhotoProblem.TOO_LARGE)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in FORMATS:
                raise PhotoRefused(PhotoProblem.NOT_AN_IMAGE)
            width, height = probe.size
            if width * height > MAX_PIXELS or width + height > 10_000 or max(width, height) > 20 * min(width, height):
                raise PhotoRefused(PhotoProblem.BAD_SHAPE)
            probe.verify()  # a truncated or corrupt file is refused here
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail((MAX_SIDE, MAX_SIDE))
            if img.mode != "RGB":
                background = Image.new("RGB", img.size, "white")
                rgba = img.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                img = background
            out = io.BytesIO()
            img.save(out, "JPEG", quality=88, optimize=True)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise PhotoRefused(PhotoProblem.NOT_AN_IMAGE) from None
    return out.getvalue()


def store(media_dir: Path, jpeg: bytes) -> Path:
    """Write the checked JPEG where the delivery worker reads it (content-addressed: the same picture twice is
    one file). Blocking file I/O: call it in a thread."""
    sha = hashlib.sha256(jpeg).hexdigest()
    path = media_dir / "broadcasts" / f"{sha}.jpg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
        tmp.write_bytes(jpeg)
        tmp.replace(path)
    return path.resolve()
