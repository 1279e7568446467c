"""Label services: readiness per genre, merging and retiring genres."""

import pytest

from catalog.models import Genre, GenreLabel, GenrePrediction, Song
from catalog.services import label_song
from classifier import labels
from classifier.models import ModelVersion
from tests.catalog_factories import audio_blob, classified_by

pytestmark = [pytest.mark.unit, pytest.mark.django_db]


def make_song(n: int, user=None) -> Song:
    return Song.objects.create(title=f"Song {n}", audio=audio_blob(), uploaded_by=user)


def genre(slug: str, **extra) -> Genre:
    return Genre.objects.get_or_create(slug=slug, defaults={"name": slug.title(), **extra})[0]


def test_readiness_counts_labelled_songs_against_the_minimum(settings, user):
    settings.SKYBEAT_MIN_LABELS_PER_GENRE = 3
    jazz, shoegaze = genre("jazz"), genre("shoegaze")
    genre("old", retired=True)
    for n in range(4):
        label_song(make_song(n, user), jazz, user)
    label_song(make_song(10, user), shoegaze, user)
    status = {item.genre.slug: item for item in labels.readiness()}
    assert "old" not in status
    assert (status["jazz"].labelled, status["jazz"].ready, status["jazz"].problem) == (4, True, "")
    assert (status["shoegaze"].labelled, status["shoegaze"].missing) == (1, 2)
    assert status["shoegaze"].problem == "genre 'shoegaze' has 1 labelled songs, needs 3"
    annotated = labels.annotate_label_counts(Genre.objects.filter(slug__in=["jazz", "shoegaze"]))
    assert {g.slug: g.labelled_songs for g in annotated} == {"jazz": 4, "shoegaze": 1}


def classified(song: Song, version: ModelVersion, probs: dict[Genre, float]) -> Song:
    for g, p in probs.items():
        GenrePrediction.objects.create(song=song, genre=g, probability=p)
    classified_by(song, version)
    top = max(probs, key=probs.get)
    song.top_genre, song.top_probability = top, probs[top]
    song.status = Song.Status.CLASSIFIED
    song.timeline = {"genres": [g.slug for g in probs], "frames": [[0.0, list(probs.values())]]}
    song.save()
    return song


def test_merge_moves_labels_and_adds_predictions(user):
    rock, grunge, pop = genre("rock"), genre("grunge"), genre("pop")
    version = ModelVersion.objects.create(name="v1", architecture="crnn-feature-extractor", genres=["rock", "pop"])
    song = classified(make_song(1, user), version, {rock: 0.2, grunge: 0.35, pop: 0.45})
    lone = classified(make_song(2, user), version, {grunge: 0.9, pop: 0.1})
    label_song(song, grunge, user)

    assert labels.merge_genres(rock, grunge) == "deleted"

    assert not Genre.objects.filter(slug="grunge").exists()
    assert GenreLabel.objects.get(song=song).genre == rock
    song.refresh_from_db()
    by_genre = {p.genre.slug: p.probability for p in song.predictions.all()}
    assert by_genre == pytest.approx({"rock": 0.55, "pop": 0.45})
    assert (song.top_genre, song.top_probability) == (rock, pytest.approx(0.55))
    assert song.timeline["genres"] == ["rock", "pop"]
    assert song.timeline["frames"][0][1] == pytest.approx([0.55, 0.45])
    lone.refresh_from_db()
    assert lone.top_genre == rock and lone.timeline["genres"] == ["rock", "pop"]


def test_merge_retires_a_genre_a_model_still_outputs(user):
    rock, grunge = genre("rock"), genre("grunge")
    ModelVersion.objects.create(name="v1", architecture="crnn-feature-extractor", genres=["rock", "grunge"])
    label_song(make_song(1, user), grunge, user)
    assert labels.merge_genres(rock, grunge) == "retired"
    grunge.refresh_from_db()
    assert grunge.retired and not grunge.labels.exists()
    with pytest.raises(ValueError):
        labels.merge_genres(rock, rock)


def test_retire_keeps_labels_and_leaves_the_taxonomy(user):
    jazz = genre("jazz")
    label_song(make_song(1, user), jazz, user)
    labels.retire_genre(jazz)
    jazz.refresh_from_db()
    assert jazz.retired and jazz.labels.count() == 1
    assert jazz not in [item.genre for item in labels.readiness()]
