"""Helpers of the training tests: synthetic labelled songs in the library, small TensorFlow thread pools."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from catalog.models import AudioBlob, Genre, Song
from catalog.services import label_song
from tests.audio_fixtures import synthetic_genre_clip, write_audio

SAMPLE_RATE_HZ = 16000


@pytest.fixture(scope="module", autouse=True)
def small_tensorflow():
    """Two TensorFlow threads: the machine is shared (only effective before TensorFlow's first op)."""
    from classifier.genre_model import configure_tensorflow_threads

    configure_tensorflow_threads(2)


def labelled_library(user, per_genre: dict[str, int], seconds: float, seed: int = 0) -> list[Song]:
    """Songs of synthetic genres stored under MEDIA_ROOT like uploads, each labelled by ``user``."""
    songs = []
    for g, (slug, count) in enumerate(per_genre.items()):
        genre = Genre.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]
        for i in range(count):
            songs.append(library_song(user, slug, seconds, seed=seed * 1000 + g * 100 + i, label=genre))
    return songs


def library_song(user, kind: str, seconds: float, seed: int, label: Genre | None = None) -> Song:
    """One synthetic clip of ``kind`` stored as a song (and labelled ``label`` by ``user`` if given)."""
    staging = Path(settings.MEDIA_ROOT) / "incoming"
    staging.mkdir(parents=True, exist_ok=True)
    tmp = write_audio(staging / f"clip-{kind}-{seed}.wav", synthetic_genre_clip(kind, seconds, SAMPLE_RATE_HZ, seed),
                      SAMPLE_RATE_HZ)
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    name = f"audio/{sha[:2]}/{sha[2:4]}/{sha}.wav"
    final = Path(settings.MEDIA_ROOT) / name
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp, final)
    audio = AudioBlob.objects.create(
        sha256=sha, file=name, size_bytes=final.stat().st_size, audio_format="wav", duration_s=seconds,
        sample_rate_hz=SAMPLE_RATE_HZ, channels=1,
    )
    song = Song.objects.create(title=f"{kind} {seed}", audio=audio, uploaded_by=user)
    if label is not None:
        label_song(song, label, user)
    return song
