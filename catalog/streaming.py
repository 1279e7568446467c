"""Serving a song's bytes with HTTP Range support (RFC 9110 §14), streamed in chunks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from .audio_probe import content_type
from .models import Song

CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(.+)$", re.IGNORECASE)
_SPEC = re.compile(r"^\s*([0-9]*)\s*-\s*([0-9]*)\s*$")  # ASCII digits only (RFC 9110 DIGIT)
#: Byte positions longer than this are past the end of any file: compared as text, never turned into an int
#: (Python refuses to parse integers of more than 4,300 digits).
_MAX_DIGITS = 18
_BEYOND_ANY_FILE = 10**_MAX_DIGITS


class UnsatisfiableRange(Exception):
    """The Range header names no byte of the file, or several ranges (which SKYBEAT does not serve)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte to send, or None for the whole file.

    A header with a unit other than bytes, or with bad syntax, is ignored as the RFC requires.
    """
    match = _RANGE.match(header or "")
    if not match:
        return None
    specs = [_SPEC.match(part) for part in match.group(1).split(",")]
    if any(spec is None for spec in specs):
        return None
    if len(specs) > 1:
        raise UnsatisfiableRange("multiple ranges")
    first, last = (_position(digits) for digits in specs[0].groups())
    if first is None and last is None:
        return None
    if first is None:  # suffix range: the last N bytes
        if last == 0 or size == 0:
            raise UnsatisfiableRange("empty suffix")
        return max(0, size - last), size - 1
    if last is not None and last < first:
        return None  # syntactically invalid: ignore
    if first >= size:
        raise UnsatisfiableRange("starts past the end")
    return first, min(last, size - 1) if last is not None else size - 1


def _position(digits: str) -> int | None:
    """A byte position of the header; any number too long to be a real position reads as one past every file."""
    if not digits:
        return None
    digits = digits.lstrip("0") or "0"
    return _BEYOND_ANY_FILE if len(digits) > _MAX_DIGITS else int(digits)


def iter_file(path: str, start: int, length: int) -> Iterator[bytes]:
    with default_storage.open(path, "rb") as handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk


def stream_song(request: HttpRequest, song: Song) -> HttpResponse:
    """200 with the whole file, 206 with one range, or 416; a HEAD request gets the same headers and no body."""
    size = default_storage.size(song.audio_file.name)
    etag = f'"{song.sha256}"'
    header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        header = None  # the client's copy is another version: send it all
    try:
        byte_range = parse_range(header, size)
    except UnsatisfiableRange:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return _common_headers(response, etag)
    start, end = byte_range or (0, size - 1)
    length = end - start + 1 if size else 0
    if request.method == "HEAD":
        response = HttpResponse(status=206 if byte_range else 200)
    else:
        response = StreamingHttpResponse(iter_file(song.audio_file.name, start, length), status=206 if byte_range else 200)
    response["Content-Type"] = content_type(song.audio.audio_format)
    response["Content-Length"] = str(length)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _common_headers(response, etag)


def _common_headers(response: HttpResponse, etag: str) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
