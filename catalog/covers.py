"""Cover art: the picture embedded in a song's tags, scaled on request, or a generated placeholder.

Pictures are read where players put them: ID3 APIC frames (MP3, WAV), FLAC picture blocks, Vorbis/Opus
``METADATA_BLOCK_PICTURE`` comments and MP4 ``covr`` atoms; the front cover comes first. Embedded pictures are
untrusted bytes: one too large, too many pixels or unreadable counts as no picture.
"""

from __future__ import annotations

import base64
import colorsys
import hashlib
from dataclasses import dataclass
from io import BytesIO

import mutagen
from django.core.files.storage import default_storage
from mutagen.flac import Picture as FlacPicture
from PIL import Image, ImageDraw

from .models import Song

FRONT_COVER = 3  # picture type of the front cover (ID3v2 APIC and FLAC share the numbering)
MAX_PICTURE_BYTES = 16 * 1024 * 1024
MAX_PIXELS = 40_000_000
PLACEHOLDER_SIZE = 600
MIN_SIZE, MAX_SIZE = 16, 2048
JPEG_QUALITY = 88


@dataclass(frozen=True)
class Picture:
    data: bytes
    content_type: str


def clamp_size(size: int | None, default: int | None = None) -> int | None:
    size = size or default
    return None if size is None else max(MIN_SIZE, min(MAX_SIZE, size))


def embedded_picture(song: Song) -> bytes | None:
    """The bytes of the song's front cover (else its first picture), or None."""
    try:
        with default_storage.open(song.audio.file.name, "rb") as handle:
            pictures = _pictures(mutagen.File(handle))
    except Exception:  # a missing file, or mutagen on hostile bytes (it can raise anything)
        return None
    pictures.sort(key=lambda picture: picture[0] != FRONT_COVER)
    return next((data for _, data in pictures if 0 < len(data) <= MAX_PICTURE_BYTES), None)


def _pictures(audio) -> list[tuple[int, bytes]]:
    if audio is None:
        return []
    found = [(picture.type, picture.data) for picture in getattr(audio, "pictures", None) or []]  # FLAC blocks
    tags = audio.tags
    if tags is None:
        return found
    if hasattr(tags, "getall"):  # ID3
        found += [(frame.type, frame.data) for frame in tags.getall("APIC")]
        return found
    for encoded in tags.get("metadata_block_picture", None) or []:  # Vorbis comments (Ogg Vorbis, Opus)
        picture = FlacPicture(base64.b64decode(encoded))
        found.append((picture.type, picture.data))
    found += [(FRONT_COVER, bytes(cover)) for cover in tags.get("covr", None) or []]  # MP4
    return found


def scaled_picture(data: bytes, size: int | None) -> Picture | None:
    """The picture fitting in size × size (JPEG, or PNG to keep transparency), None if it is not a safe image.

    Without ``size`` a JPEG or PNG is returned as it is.
    """
    try:
        image = Image.open(BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            return None
        if size is None and image.format in ("JPEG", "PNG"):
            image.verify()
            return Picture(data, Image.MIME[image.format])
        image.load()
    except Exception:  # Pillow raises many types on hostile input (OSError, SyntaxError, DecompressionBombError...)
        return None
    if size is not None:
        image.thumbnail((size, size))
    return _encode(image)


def _encode(image: Image.Image) -> Picture:
    output = BytesIO()
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        image.convert("RGBA").save(output, "PNG", optimize=True)
        return Picture(output.getvalue(), "image/png")
    image.convert("RGB").save(output, "JPEG", quality=JPEG_QUALITY)
    return Picture(output.getvalue(), "image/jpeg")


def seed_colour(seed: str) -> str:
    """A stable, saturated colour for a name, as #rrggbb."""
    hue = int(hashlib.sha256(seed.encode()).hexdigest()[:4], 16) / 0xFFFF
    return "#" + "".join(f"{round(c * 255):02x}" for c in colorsys.hls_to_rgb(hue, 0.5, 0.55))


def placeholder(seed: str, size: int | None = None, colour: str | None = None) -> Picture:
    """A record on a gradient, in ``colour`` (else a colour of the seed): the cover of what has no picture."""
    size = clamp_size(size, PLACEHOLDER_SIZE)
    base = Image.new("RGB", (size, size), colour or seed_colour(seed))
    dark = Image.new("RGB", (size, size), "#10131c")
    image = Image.composite(dark, base, Image.linear_gradient("L").resize((size, size)))
    draw = ImageDraw.Draw(image)
    centre = size / 2

    def circle(radius: float, **style) -> None:
        draw.ellipse((centre - radius, centre - radius, centre + radius, centre + radius), **style)

    circle(size * 0.38, fill="#0b0d13")
    for groove in (0.34, 0.29, 0.24, 0.19):
        circle(size * groove, outline="#2a2f3d", width=max(1, size // 200))
    circle(size * 0.12, fill=colour or seed_colour(seed))
    circle(size * 0.015, fill="#10131c")
    output = BytesIO()
    image.save(output, "PNG", optimize=True)
    return Picture(output.getvalue(), "image/png")
