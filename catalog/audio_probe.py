"""What an uploaded file really is: its format from the content, proof it decodes to the end, and its tags.

Nothing here trusts the file name. Every failure is a :class:`skybeat.errors.InvalidAudio` whose message is
shown to the uploader as is.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import mutagen
import soundfile
from django.conf import settings

from skybeat.errors import InvalidAudio

#: Detected format -> (file extension, Content-Type served when streaming).
FORMATS: dict[str, tuple[str, str]] = {
    "wav": ("wav", "audio/wav"),
    "mp3": ("mp3", "audio/mpeg"),
    "ogg": ("ogg", "audio/ogg"),
    "opus": ("opus", "audio/ogg"),
    "flac": ("flac", "audio/flac"),
    "m4a": ("m4a", "audio/mp4"),
    "aac": ("aac", "audio/aac"),
}
#: Formats only ffmpeg decodes here; accepted only when ffmpeg is installed.
FFMPEG_FORMATS = {"m4a", "aac"}
TAIL_FRAMES = 4096  # frames decoded at the end of the stream to prove it is all there
TAIL_SECONDS = 2  # seconds ffmpeg decodes at the end of an M4A/AAC stream
MP3_LENGTH_TOLERANCE = 0.02  # share of an MP3's announced length that may be missing at its end
FFMPEG_TIMEOUT_S = 60
SNIFF_BYTES = 64
SUPPORTED_TEXT = "WAV, MP3, OGG Vorbis, Opus, FLAC" + (", M4A/AAC" if shutil.which("ffmpeg") else "")

_BIDI_CONTROLS = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F]}
_TAG_KEYS = {
    "title": ("TIT2", "title", "\xa9nam"),
    "artist": ("TPE1", "artist", "\xa9ART", "TPE2", "albumartist", "aART"),
    "album": ("TALB", "album", "\xa9alb"),
    "year": ("TDRC", "TYER", "date", "year", "\xa9day"),
    "albumartist": ("TPE2", "albumartist", "album artist", "aART"),
    "track": ("TRCK", "tracknumber", "trkn"),
    "disc": ("TPOS", "discnumber", "disk"),
}


@dataclass
class AudioInfo:
    format: str
    duration_s: float | None
    sample_rate_hz: int | None
    channels: int | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def extension(self) -> str:
        return FORMATS[self.format][0]


def content_type(audio_format: str) -> str:
    return FORMATS.get(audio_format, ("", "application/octet-stream"))[1]


def clean_text(value: object, max_length: int) -> str:
    """Printable text only: no NULs, control or bidi-override characters, single spaces, capped length."""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(
        " " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch
        for ch in text
        if unicodedata.category(ch) not in {"Cs", "Co"} and ch not in _BIDI_CONTROLS
    )
    return " ".join(text.split())[:max_length].strip()


def client_file_name(name: str, max_length: int = 200) -> str:
    """The client's file name without any directory part, cleaned (for messages, never for storage)."""
    return clean_text((name or "").replace("\\", "/").rsplit("/", 1)[-1], max_length)


def title_from_filename(name: str, max_length: int) -> str:
    """The client's file name without any directory part or extension, cleaned; "Untitled" if nothing is left."""
    base = client_file_name(name, max_length=1000)
    stem, dot, extension = base.rpartition(".")
    if dot and len(extension) <= 5:
        base = stem
    return clean_text(base.replace("_", " "), max_length) or "Untitled"


def probe_audio(path: Path) -> AudioInfo:
    """Identify, verify and describe the audio file at ``path`` (raises InvalidAudio)."""
    audio_format = sniff_format(path)
    if audio_format in FFMPEG_FORMATS:
        info = _verify_with_ffmpeg(path, audio_format)
    else:
        if audio_format == "wav":
            _check_wav_chunks(path)
        info = _verify_with_soundfile(path, audio_format)
    _check_duration(info)
    info.tags = read_tags(path)
    return info


def _check_duration(info: AudioInfo) -> None:
    """Refuse a click too short to classify (a 1-sample WAV, or one declaring a 2 GHz sample rate)."""
    minimum = settings.SKYBEAT_MIN_DURATION_S
    if info.duration_s is None or info.duration_s < minimum:
        lasts = f"{info.duration_s:.2g} s" if info.duration_s is not None else "an unknown time"
        raise InvalidAudio(f"This audio lasts {lasts}: SKYBEAT needs at least {minimum:g} s of sound to classify a song.")


def sniff_format(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        offset = 0
        if head[:3] == b"ID3" and len(head) >= 10:  # ID3v2 tag in front of MPEG audio (or FLAC, rarely)
            size = _syncsafe(head[6:10]) + (20 if head[5] & 0x10 else 10)
            handle.seek(size)
            head, offset = handle.read(SNIFF_BYTES), size
    if not head:
        raise InvalidAudio("The file is empty." if offset == 0 else "The file holds a tag but no audio.")
    audio_format = _format_from_head(head)
    if audio_format is None:
        raise InvalidAudio(f"This is not an audio file SKYBEAT can read. Supported formats: {SUPPORTED_TEXT}.")
    if audio_format in FFMPEG_FORMATS and not shutil.which("ffmpeg"):
        raise InvalidAudio(f"{audio_format.upper()} files need ffmpeg, which this server lacks. Supported formats: {SUPPORTED_TEXT}.")
    return audio_format


def _format_from_head(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS" and len(head) > 27:
        payload = head[27 + head[26]:]
        if payload.startswith(b"\x01vorbis"):
            return "ogg"
        if payload.startswith(b"OpusHead"):
            return "opus"
        raise InvalidAudio("This Ogg file holds neither Vorbis nor Opus audio.")
    if head[4:8] == b"ftyp":
        return "m4a"
    if len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0b11
        if layer == 0:
            return "aac"  # ADTS frame header
        if (head[1] >> 3) & 0b11 != 0b01 and head[2] >> 4 not in (0, 0xF):  # valid MPEG version and bitrate
            return "mp3"
    return None


def _syncsafe(data: bytes) -> int:
    return (data[0] & 0x7F) << 21 | (data[1] & 0x7F) << 14 | (data[2] & 0x7F) << 7 | (data[3] & 0x7F)


def _check_wav_chunks(path: Path) -> None:
    """libsndfile silently shortens a WAV whose header promises more data than the file has: refuse it."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(12)
        while True:
            header = handle.read(8)
            if len(header) < 8:
                raise InvalidAudio("This WAV file has no audio data chunk.")
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"data":
                if chunk_size not in (0, 0xFFFFFFFF) and handle.tell() + chunk_size > size:
                    raise InvalidAudio("This WAV file is truncated: its header promises more audio than the file holds.")
                return
            handle.seek(chunk_size + (chunk_size & 1), 1)


def _verify_with_soundfile(path: Path, audio_format: str) -> AudioInfo:
    """Open the stream, then decode its first and last blocks: a truncated file fails one of them.

    An MP3's length is often an estimate (from the bitrate, or the frame count of the file it was cut from), so
    its end may fall up to ``MP3_LENGTH_TOLERANCE`` short of the announced length; the real length is kept.
    """
    try:
        with soundfile.SoundFile(str(path)) as sound:
            frames, sample_rate, channels = sound.frames, sound.samplerate, sound.channels
            if frames <= 0 or sample_rate <= 0:
                raise InvalidAudio("The file holds no audio samples (it may be truncated).")
            head_block = min(TAIL_FRAMES, frames)
            head = sound.read(head_block, dtype="float32")
            tail_block = head_block
            if audio_format == "mp3":
                tail_block = min(frames, max(TAIL_FRAMES, int(frames * MP3_LENGTH_TOLERANCE)))
            sound.seek(frames - tail_block)
            tail = sound.read(tail_block, dtype="float32")
    except InvalidAudio:
        raise
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise InvalidAudio(f"This {audio_format.upper()} file cannot be decoded: it is damaged or truncated.") from exc
    short_tail = len(tail) < tail_block if audio_format != "mp3" else len(tail) == 0
    if len(head) < head_block or short_tail:
        raise InvalidAudio(f"This {audio_format.upper()} file is truncated: it ends before the audio its header announces.")
    decoded_frames = frames - tail_block + len(tail)
    return AudioInfo(audio_format, decoded_frames / sample_rate, sample_rate, channels)


def _verify_with_ffmpeg(path: Path, audio_format: str) -> AudioInfo:
    probe = _run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                  "stream=sample_rate,channels,duration:format=duration", "-of", "json", str(path)])
    try:
        report = json.loads(probe.stdout or "{}")
    except json.JSONDecodeError:
        report = {}
    streams = report.get("streams") or []
    if probe.returncode != 0 or not streams:
        raise InvalidAudio(f"This {audio_format.upper()} file holds no readable audio stream.")
    stream = streams[0]
    duration = _float(stream.get("duration")) or _float(report.get("format", {}).get("duration"))
    decode = _run(["ffmpeg", "-nostdin", "-v", "error", "-xerror", "-sseof", f"-{TAIL_SECONDS}", "-i", str(path),
                   "-map", "0:a:0", "-f", "null", "-"])
    if decode.returncode != 0 or not duration:
        raise InvalidAudio(f"This {audio_format.upper()} file is damaged or truncated: its end does not decode.")
    return AudioInfo(audio_format, duration, int(_float(stream.get("sample_rate")) or 0) or None,
                     int(stream.get("channels") or 0) or None)


def _run(command: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise InvalidAudio("This file took too long to decode; it may be damaged.") from exc


def _float(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def read_tags(path: Path) -> dict[str, str]:
    """Title, artist, album, year, album artist, track and disc from ID3, Vorbis comments or MP4 atoms; missing or
    unreadable tags are skipped."""
    try:
        audio = mutagen.File(str(path))
    except Exception:  # mutagen parses hostile bytes in pure Python and can raise anything (IndexError, ...)
        return {}
    tags = getattr(audio, "tags", None)
    if not tags:
        return {}
    found = {}
    for name, keys in _TAG_KEYS.items():
        for key in keys:
            value = _tag_value(tags, key)
            if value:
                found[name] = value
                break
    return found


def _tag_value(tags, key: str) -> str:
    try:
        value = tags.get(key)
    except (ValueError, KeyError):  # some tag types reject keys they cannot hold
        return ""
    if value is None:
        return ""
    if hasattr(value, "text"):  # an ID3 frame
        value = value.text
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    return str(value).strip()


def parse_year(value: str | None) -> int | None:
    match = re.search(r"(?<!\d)(\d{4})(?!\d)", value or "")
    year = int(match.group(1)) if match else None
    return year if year and 1000 <= year <= 2999 else None
