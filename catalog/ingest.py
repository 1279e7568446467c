"""Turning uploaded files into songs: hash while copying, verify, store by content, deduplicate, enqueue.

A file is copied in chunks to a temporary file (for probing), hashed on the way, verified by
:mod:`catalog.audio_probe`, then saved through the storage API as ``audio/ab/cd/<sha256>.<ext>``: one
:class:`~catalog.models.AudioBlob` per distinct content. Each uploader gets their own song over it, so an upload
never reveals whether someone else has the same bytes. Bad files leave nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from skybeat.errors import InvalidAudio

from .audio_probe import AudioInfo, clean_text, client_file_name, parse_year, probe_audio, title_from_filename
from .library import link_song
from .models import AudioBlob, Song
from .services import enqueue_classification
from .uploads import max_upload_bytes

logger = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024


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
    return UploadOutcome(filename=display_name, song=song, created=created)


@dataclass(frozen=True)
class HashedCopy:
    """An upload's bytes in a local temporary file, with their SHA-256 and size."""

    path: Path
    sha256: str
    size_bytes: int


def store_song(upload: UploadedFile, user, visibility: str) -> tuple[Song, bool]:
    """The uploader's song for these bytes and whether it is new. Raises InvalidAudio (storing nothing) for bad input.

    The same person uploading the same bytes again gets their song back; anyone else gets a song of their own
    over the stored audio, whoever else has it and however they shared it.
    """
    if upload.size is not None and upload.size > max_upload_bytes():
        raise InvalidAudio(too_large_message())
    if not upload.size:
        raise InvalidAudio("The file is empty.")
    uploader = user if user is not None and user.is_authenticated else None
    with hashed_copy(upload) as copy:
        if uploader is not None:
            mine = Song.objects.filter(audio__sha256=copy.sha256, uploaded_by=uploader).first()
            if mine is not None:
                return mine, False
        # Probed even when the bytes are stored already: the same checks and tags, whoever uploaded them before.
        info = probe_audio(copy.path)
        fields = song_fields(upload, info.tags)
        blob = AudioBlob.objects.filter(sha256=copy.sha256).first()
        try:
            song, created = add_song(blob or store_blob(copy, info), uploader, visibility, fields)
        except AudioBlob.DoesNotExist:  # deleted with its last song meanwhile: store the bytes anew
            song, created = add_song(store_blob(copy, info), uploader, visibility, fields)
    if created:
        link_song(song, info.tags)
    return song, created


@contextmanager
def hashed_copy(upload: UploadedFile) -> Iterator[HashedCopy]:
    """The upload copied in chunks to a temporary file, its SHA-256 computed on the way; removed afterwards."""
    digest, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(
        prefix="skybeat-upload-", suffix=".part", dir=settings.FILE_UPLOAD_TEMP_DIR
    ) as handle:
        upload.seek(0)
        for chunk in upload.chunks(COPY_CHUNK_BYTES):
            digest.update(chunk)
            handle.write(chunk)
            size += len(chunk)
        handle.flush()
        yield HashedCopy(Path(handle.name), digest.hexdigest(), size)


def content_path(sha256: str, extension: str) -> str:
    return f"audio/{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def store_blob(copy: HashedCopy, info: AudioInfo) -> AudioBlob:
    """Save verified bytes through the storage API and record their blob.

    When the same bytes are being stored concurrently, the first blob recorded wins and this copy is removed.
    The storage picks another name if the content name is taken (say, by a file a crash left behind).
    """
    max_length = AudioBlob._meta.get_field("file").max_length
    with copy.path.open("rb") as handle:
        name = default_storage.save(content_path(copy.sha256, info.extension), File(handle), max_length=max_length)
    try:
        with transaction.atomic():
            return AudioBlob.objects.create(
                sha256=copy.sha256, file=name, size_bytes=copy.size_bytes, audio_format=info.format,
                duration_s=info.duration_s, sample_rate_hz=info.sample_rate_hz, channels=info.channels,
            )
    except IntegrityError:
        default_storage.delete(name)
        blob = AudioBlob.objects.filter(sha256=copy.sha256).first()
        if blob is None:
            raise
        return blob


def song_fields(upload: UploadedFile, tags: dict[str, str]) -> dict:
    """Title, artist, album and year from the file's tags; the title falls back to the uploader's file name."""
    length = {field: Song._meta.get_field(field).max_length for field in ("title", "artist", "album")}
    return {
        "title": clean_text(tags.get("title", ""), length["title"]) or title_from_filename(upload.name or "", length["title"]),
        "artist": clean_text(tags.get("artist", ""), length["artist"]),
        "album": clean_text(tags.get("album", ""), length["album"]),
        "year": parse_year(tags.get("year")),
    }


def add_song(blob: AudioBlob, uploader, visibility: str, fields: dict) -> tuple[Song, bool]:
    """A new song of ``uploader`` over ``blob``, or their song made concurrently, and whether it is new.

    The blob row is locked until the song is committed, so deleting its last other song cannot remove it under
    the new song (:func:`catalog.services.delete_song` locks it too); raises AudioBlob.DoesNotExist if it is gone.
    """
    try:
        with transaction.atomic():
            AudioBlob.objects.select_for_update().get(pk=blob.pk)
            song = Song.objects.create(audio=blob, uploaded_by=uploader, visibility=visibility, **fields)
    except IntegrityError:
        # The same person uploaded the same bytes concurrently and the other upload won: theirs is this song.
        song = Song.objects.filter(audio=blob, uploaded_by=uploader).first() if uploader is not None else None
        if song is None:
            raise
        return song, False
    logger.info("Stored song %s over audio %s (%s)", song.pk, blob.sha256[:12], blob.audio_format)
    return song, True
