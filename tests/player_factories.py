"""Songs the browser can really play: synthesised tones stored through the upload path, then given a genre."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.ingest import ingest_upload
from catalog.models import Genre, GenrePrediction, Song
from classifier.models import ModelVersion
from classifier.seeding import install_defaults
from moods.defaults import seed_defaults
from moods.models import GenreMood
from moods.services import update_song_moods
from tests.catalog_factories import classified_by, upload_of, write_song, write_tags


@pytest.fixture
def default_genres(db):
    """The shipped genres with their colours and moods, even after a transactional test flushed them."""
    install_defaults()
    seed_defaults(Genre, GenreMood)


def playable_song(user, folder: Path, title: str, genre_slug: str, *, artist: str = "The Testers", album: str = "Tones",
                  seconds: float = 60.0, freq_hz: float = 440.0, probability: float = 0.8) -> Song:
    """A WAV tone (8 kHz, small) uploaded by ``user``, classified as ``genre_slug`` with its mood computed."""
    path = write_song(folder / f"{title}.wav", seconds=seconds, sr=8000, freq_hz=freq_hz)
    write_tags(path, title, artist, album, "2024")
    outcome = ingest_upload(upload_of(path), user)
    assert outcome.song is not None, outcome.error
    song, genre = outcome.song, Genre.objects.get(slug=genre_slug)
    version = ModelVersion.objects.get_or_create(name="player-tests", defaults={"architecture": "crnn-from-scratch"})[0]
    GenrePrediction.objects.create(song=song, genre=genre, probability=probability)
    classified_by(song, version)
    Song.objects.filter(pk=song.pk).update(top_genre=genre, top_probability=probability, status=Song.Status.CLASSIFIED)
    update_song_moods([song.pk])
    song.refresh_from_db()
    return song
