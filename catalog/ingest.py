"""Turning uploaded files into songs: hash while copying, verify, store by content, deduplicate, enqueue.

A file is copied in chunks to a staging file beside the library (so the final move is an atomic rename),
hashed on the way, verified by :mod:`catalog.audio_probe`, then renamed to ``audio/ab/cd/<sha256>.<ext>``.
Bad files leave nothing behind: the staging file is always removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from skybeat.errors import InvalidAudio

from .audio_probe import AudioInfo, clean_text, client_file_name, parse_year, probe_audio, title_from_filename
from .library import link_song
from .models import Song
from .services import enqueue_classification

logger = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024
STAGING_DIR = "incoming"


@dataclass
class UploadOutcome:
    """What became of one uploaded file: a song (new or already there), or a reason it was refused."""

    filename: str
    song: Song | None = None
    created: bool = False
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.song is not None


def max_upload_bytes() -> int:
    return settings.SKYBEAT_MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return f"The upload is larger than the {settings.SKYBEAT_MAX_UPLOAD_MB} MB limit; nothing was stored."


def ingest_uploads(files: list[UploadedFile], user, visibility: str = Song.Visibility.SHARED) -> list[UploadOutcome]:
    """Store each file as a song (one bad file does not stop the others); new songs are enqueued after commit."""
    outcomes = [ingest_upload(upload, user, visibility) for upload in files]
    new_ids = [outcome.song.pk for outcome in outcomes if outcome.created]
    if new_ids:
        transaction.on_commit(lambda: enqueue_classification(new_ids))
    return outcomes


def ingest_upload(upload: UploadedFile, user, visibility: str = Song.Visibility.SHARED) -> UploadOutcome:
    display_name = client_file_name(upload.name or "")
    try:
        song, created = store_song(upload, user, visibility)
    except InvalidAudio as exc:
        return UploadOutcome(filename=display_name, error=str(exc))
    if not created and not Song.objects.visible_to(user).filter(pk=song.pk).exists():
        return UploadOutcome(
            filename=display_name,
            error="This exact file is already in the library as another member's private song; it was not stored again.",
        )
    return UploadOutcome(filename=display_name, song=song, created=created)


def store_song(upload: UploadedFile, user, visibility: str) -> tuple[Song, bool]:
    """The song for these bytes and whether it is new. Raises InvalidAudio (and stores nothing) for bad input."""
    if upload.size is not None and upload.size > max_upload_bytes():
        raise InvalidAudio(too_large_message())
    if not upload.size:
        raise InvalidAudio("The file is empty.")
    staged, sha256 = stage_upload(upload)
    try:
        existing = Song.objects.filter(sha256=sha256).first()
        if existing is not None:
            return existing, False
        info = probe_audio(staged)
        name = content_path(sha256, info.extension)
        final = Path(default_storage.path(name))
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        os.chmod(final, settings.FILE_UPLOAD_PERMISSIONS or 0o644)
        return _create_song(upload, user, visibility, info, sha256, name, final)
    finally:
        staged.unlink(missing_ok=True)


def stage_upload(upload: UploadedFile) -> tuple[Path, str]:
    """Copy the upload in chunks into the staging folder, computing its SHA-256 on the way."""
    staging = Path(settings.MEDIA_ROOT) / STAGING_DIR
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle = tempfile.NamedTemporaryFile(dir=staging, prefix="upload-", suffix=".part", delete=False)
    path = Path(handle.name)
    try:
        with handle:
            upload.seek(0)
            for chunk in upload.chunks(COPY_CHUNK_BYTES):
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest()


def content_path(sha256: str, extension: str) -> str:
    return f"audio/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def _create_song(upload, user, visibility, info: AudioInfo, sha256: str, name: str, final: Path) -> tuple[Song, bool]:
    field_length = {field: Song._meta.get_field(field).max_length for field in ("title", "artist", "album")}
    tags = info.tags
    try:
        with transaction.atomic():
            song = Song.objects.create(
                title=clean_text(tags.get("title", ""), field_length["title"])
                or title_from_filename(upload.name or "", field_length["title"]),
                artist=clean_text(tags.get("artist", ""), field_length["artist"]),
                album=clean_text(tags.get("album", ""), field_length["album"]),
                year=parse_year(tags.get("year")),
                duration_s=info.duration_s,
                audio_file=name,
                sha256=sha256,
                size_bytes=final.stat().st_size,
                audio_format=info.format,
                sample_rate_hz=info.sample_rate_hz,
                channels=info.channels,
                uploaded_by=user if user is not None and user.is_authenticated else None,
                visibility=visibility,
            )
    except IntegrityError:
        # The same bytes arrived concurrently and the other upload won: link to its song (same file, same path).
        song = Song.objects.filter(sha256=sha256).first()
        if song is None:
            final.unlink(missing_ok=True)
            raise
        return song, False
    link_song(song, tags)
    logger.info("Stored song %s (%s, %s) from %r", song.pk, info.format, sha256[:12], upload.name)
    return song, True
