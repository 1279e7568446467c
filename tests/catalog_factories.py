"""Helpers of the catalog tests: real encoded audio with real tags, song rows, an isolated MEDIA_ROOT."""

from __future__ import annotations

import hashlib
import itertools
from datetime import datetime, timedelta
from pathlib import Path

import mutagen
import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from mutagen.id3 import ID3, TALB, TDRC, TIT2, TPE1
from mutagen.wave import WAVE

from catalog.models import AudioBlob, Genre, GenrePrediction, ListeningEvent, Song
from catalog.services import record_progress, start_listen
from classifier.models import SongClassification
from tests import audio_fixtures

#: extension -> (soundfile format, subtype)
ENCODINGS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
_counter = itertools.count(1)


def write_song(path: Path, seconds: float = 2.0, sr: int = 22050, freq_hz: float = 440.0, channels: int = 1) -> Path:
    """A tone with a little noise (so every call gives different bytes), encoded as the file's extension says."""
    extension = path.suffix.lstrip(".")
    sr = 48000 if extension == "opus" else sr
    mono = audio_fixtures.tone(seconds, sr, freq_hz, 0.3) + audio_fixtures.noise(seconds, sr, 0.01, seed=next(_counter))
    samples = audio_fixtures.multichannel(mono, channels)
    if extension == "mp3" and "MP3" not in soundfile.available_formats():
        source = audio_fixtures.write_audio(path.with_suffix(".source.wav"), samples, sr)
        return audio_fixtures.ffmpeg_encode(source, path)
    audio_format, subtype = ENCODINGS[extension]
    return audio_fixtures.write_audio(path, samples, sr, subtype, audio_format)


def write_tags(path: Path, title: str, artist: str, album: str, year: str) -> None:
    """Tags the way players write them: ID3 in WAV and MP3, Vorbis comments in FLAC and Ogg."""
    if path.suffix in {".wav", ".mp3"}:
        tags = ID3()
        for frame in (TIT2(encoding=3, text=title), TPE1(encoding=3, text=artist), TALB(encoding=3, text=album),
                      TDRC(encoding=3, text=year)):
            tags.add(frame)
        if path.suffix == ".wav":
            wave = WAVE(path)
            wave.add_tags()
            wave.tags.update(tags)
            wave.save()
        else:
            tags.save(path)
        return
    audio = mutagen.File(path)
    audio["title"], audio["artist"], audio["album"], audio["date"] = title, artist, album, year
    audio.save()


def upload_of(path: Path, name: str | None = None, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes(), content_type=content_type)


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in Path(media_root).rglob("*") if path.is_file()]


def genre(slug: str, colour: str = "#1db954", **extra) -> Genre:
    return Genre.objects.get_or_create(slug=slug, defaults={"name": slug.title(), "colour": colour, **extra})[0]


#: Song factory arguments that describe its audio.
AUDIO_FIELDS = {"duration_s", "audio_format", "size_bytes", "sample_rate_hz", "channels"}


def audio_blob(**fields) -> AudioBlob:
    """An audio row without a file (for songs that are never played), unique per call."""
    sha = hashlib.sha256(f"catalog-test-audio-{next(_counter)}".encode()).hexdigest()
    values = {"file": f"audio/{sha}.wav", "size_bytes": 1000, "audio_format": "wav", "duration_s": 180.0, **fields}
    return AudioBlob.objects.create(sha256=sha, **values)


def make_song(user=None, *, top_genre: Genre | None = None, probability: float | None = None, model_version=None,
              **fields) -> Song:
    """A song row over audio without a file (for pages, queries and permissions); with predictions when a model
    is given. Audio fields (``duration_s``...) go to its new audio row unless ``audio`` is given."""
    n = next(_counter)
    audio = fields.pop("audio", None) or audio_blob(**{name: fields.pop(name) for name in AUDIO_FIELDS & fields.keys()})
    values = {"title": f"Song {n}", "artist": f"Artist {n % 7}", "album": f"Album {n % 3}", "audio": audio,
              "uploaded_by": user, **fields}
    if top_genre is not None:
        values.update(top_genre=top_genre, top_probability=probability if probability is not None else 0.8,
                      status=Song.Status.CLASSIFIED)
    song = Song.objects.create(**values)
    if model_version is not None and top_genre is not None:
        GenrePrediction.objects.create(song=song, genre=top_genre, probability=song.top_probability)
        classified_by(song, model_version)
    return song


def classified_by(song: Song, version) -> None:
    """Record that model ``version`` classified ``song`` (the classifier's SongClassification)."""
    SongClassification.objects.update_or_create(song=song, defaults={"model_version": version})


def listened(user, song: Song, seconds: float, started_at: datetime | None = None) -> ListeningEvent:
    """A listen started at ``started_at`` (by default ``seconds`` ago) that reported ``seconds`` played as the
    player does, when they had passed (the server believes no more than the time since the listen started)."""
    started_at = started_at or timezone.now() - timedelta(seconds=seconds)
    event = start_listen(user, song)
    ListeningEvent.objects.filter(pk=event.pk).update(started_at=started_at)
    event.refresh_from_db()
    return record_progress(event, seconds, now=started_at + timedelta(seconds=seconds))


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """Each test stores its files under its own MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def fast_passwords(settings):
    """Users made by the shared fixtures skip the deliberately slow password hashing (Django's testing advice)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
