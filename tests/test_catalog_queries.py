"""List pages and API lists run a fixed number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Song
from classifier.models import ModelVersion
from moods.models import SongMood
from tests.catalog_factories import fast_passwords, genre, listened, make_song  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

MAX_QUERIES = 12  # session, user, count, page, filter form's genres, ...: a handful, never one per row


def fill_library(count: int, user, other_user) -> None:
    version = ModelVersion.objects.get_or_create(name="query-test", defaults={"architecture": "crnn-from-scratch"})[0]
    genres = [genre("rock", "#e74c3c"), genre("jazz", "#3498db")]
    for n in range(count):
        song = make_song(user if n % 2 else other_user, top_genre=genres[n % 2], probability=0.5 + n / 100,
                         model_version=version)
        if n % 3:
            SongMood.objects.create(song=song, valence=0.3, arousal=0.2, dominant="happy", moods={"happy": 1.0})
        listened(user, song, 60)


def queries(client, url: str, **params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200, response.content[:500]
    return len(captured)


URLS = [
    ("catalog:song-list", {}),
    ("catalog:song-list", {"q": "Song", "genre": "rock", "sort": "confidence", "status": "classified"}),
    ("catalog:genre-detail", {"slug": "rock"}),
    ("catalog:genre-list", {}),
    ("catalog:history", {}),
    ("home", {}),
    ("api-song-list", {}),
    ("api-song-list", {"genre": "jazz", "uploader": "alice", "sort": "title"}),
    ("api-genre-list", {}),
    ("api-history", {}),
]


@pytest.mark.parametrize(("name", "params"), URLS, ids=lambda value: str(value))
def test_query_count_does_not_grow_with_rows(client, user, other_user, name, params):
    client.force_login(user)
    kwargs = {"slug": params.pop("slug")} if "slug" in params else {}
    url = reverse(name, kwargs=kwargs)
    fill_library(4, user, other_user)
    few = queries(client, url, **params)
    fill_library(30, user, other_user)
    many = queries(client, url, **params)
    assert many == few
    assert many <= MAX_QUERIES


def test_status_endpoint_is_one_query_for_many_songs(client, user, other_user):
    client.force_login(user)
    fill_library(30, user, other_user)
    ids = ",".join(str(pk) for pk in Song.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as captured:
        assert len(client.get(reverse("api-song-status"), {"ids": ids}).json()) == 30
    song_queries = [q for q in captured.captured_queries if "catalog_song" in q["sql"]]
    assert len(song_queries) == 1
