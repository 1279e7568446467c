"""Listening histories for the moods tests: classified songs, counted listens, applied to snapshots."""

from datetime import datetime, timedelta
from itertools import count

import pytest

from catalog.models import Genre, GenrePrediction, ListeningEvent, Song
from classifier.models import ModelVersion
from moods import services
from moods.defaults import seed_defaults
from moods.models import GenreMood
from tests.catalog_factories import audio_blob, classified_by

_serial = count()


@pytest.fixture
def seeded_moods(db):
    """The migration's genre moods, even after a transactional test elsewhere has flushed the tables."""
    seed_defaults(Genre, GenreMood)


def genre(slug: str) -> Genre:
    """A seeded genre (its GenreMood comes from the data migration) or a new one (neutral mood)."""
    return Genre.objects.get_or_create(slug=slug, defaults={"name": slug.title()})[0]


def model_version(name: str = "moods-test") -> ModelVersion:
    return ModelVersion.objects.get_or_create(name=name, defaults={"architecture": "crnn-from-scratch"})[0]


def classified_song(probabilities: dict[str, float], *, title: str = "", user=None, version: ModelVersion | None = None,
                    visibility: str = Song.Visibility.SHARED) -> Song:
    """A song classified by ``version`` with ``probabilities`` {genre slug: p}, its SongMood computed."""
    n = next(_serial)
    version = version or model_version()
    song = Song.objects.create(
        title=title or f"Song {n}", artist="Test Artist", audio=audio_blob(duration_s=240), uploaded_by=user,
        visibility=visibility, status=Song.Status.CLASSIFIED,
    )
    GenrePrediction.objects.bulk_create(
        GenrePrediction(song=song, genre=genre(slug), probability=p) for slug, p in probabilities.items()
    )
    classified_by(song, version)
    services.update_song_moods([song.pk])
    return song


def listen(user, song: Song, at: datetime, seconds: float = 200.0) -> ListeningEvent:
    return ListeningEvent.objects.create(
        user=user, song=song, started_at=at, seconds_listened=seconds, completed=True, counted=True
    )


def history(user, song: Song, now: datetime, plays: int, seconds: float = 200.0, spacing=timedelta(hours=3)) -> None:
    """``plays`` listens of ``song`` ending now, applied incrementally as the worker would."""
    for i in range(plays):
        event = listen(user, song, now - i * spacing, seconds)
        services.apply_listen(event.pk, now=now)
