"""The REST API: a valid OpenAPI schema, search filters, detail, status polling, tokens, mood filter, delete."""

import pytest
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from rest_framework.authtoken.models import Token

from catalog.ingest import ingest_uploads
from catalog.models import Song
from catalog.services import label_song
from classifier.models import ModelVersion
from moods.models import SongMood
from tests.catalog_factories import fast_passwords, genre, make_song, media_root, stored_files, upload_of, write_song  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


@pytest.fixture
def api(client, user):
    client.force_login(user)
    return client


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [song["id"] for song in response.json()["results"]]


def test_openapi_schema_is_valid_and_documents_the_catalog(client):
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    paths = schema["paths"]
    for path in ("/api/songs/", "/api/songs/{id}/", "/api/songs/{id}/stream/", "/api/songs/status/", "/api/genres/",
                 "/api/listens/", "/api/listens/{id}/progress/", "/api/me/history/"):
        assert path in paths, sorted(paths)
    upload = paths["/api/songs/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "400", "413"} <= set(upload["responses"])
    assert {"200", "206", "416"} <= set(paths["/api/songs/{id}/stream/"]["get"]["responses"])
    assert {"q", "genre", "status", "uploader", "mood", "sort"} <= {p["name"] for p in paths["/api/songs/"]["get"]["parameters"]}


def test_list_filters(api, user, other_user):
    rock, jazz = genre("rock"), genre("jazz")
    a = make_song(user, title="Riff", top_genre=rock, probability=0.6)
    b = make_song(other_user, title="Bop", album="Riffs and Runs", top_genre=jazz, probability=0.9)
    c = make_song(user, title="Quiet", status=Song.Status.FAILED)
    url = reverse("api-song-list")
    assert ids(api.get(url, {"q": "riff", "sort": "title"})) == [b.pk, a.pk]
    assert ids(api.get(url, {"genre": "jazz"})) == [b.pk]
    assert ids(api.get(url, {"status": "failed"})) == [c.pk]
    assert ids(api.get(url, {"uploader": "alice", "sort": "oldest"})) == [a.pk, c.pk]
    assert ids(api.get(url, {"sort": "confidence"})) == [b.pk, a.pk, c.pk]
    bad = api.get(url, {"genre": "no-such", "status": "lost"})
    assert bad.status_code == 400 and {"genre", "status"} <= set(bad.json())


def test_list_paginates(api, user):
    for _ in range(55):
        make_song(user)
    first = api.get(reverse("api-song-list")).json()
    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"]


def test_mood_filter_orders_songs_by_mood(api, user):
    calm = make_song(user, title="Calm one")
    SongMood.objects.create(song=calm, valence=0.4, arousal=-0.6, dominant="calm", moods={"calm": 1})
    wild = make_song(user, title="Wild one")
    SongMood.objects.create(song=wild, valence=0.2, arousal=0.9, dominant="energetic", moods={"energetic": 1})
    make_song(user, title="No mood yet")
    assert ids(api.get(reverse("api-song-list"), {"mood": "calm"})) == [calm.pk, wild.pk]
    assert ids(api.get(reverse("api-song-list"), {"mood": "energetic"})) == [wild.pk, calm.pk]
    bad = api.get(reverse("api-song-list"), {"mood": "grumpy"})
    assert bad.status_code == 400 and "mood" in bad.json()


def test_detail_has_predictions_timeline_and_label(api, user):
    version = ModelVersion.objects.create(name="api-test", architecture="crnn-from-scratch")
    jazz, rock = genre("jazz"), genre("rock")
    song = make_song(user, top_genre=jazz, probability=0.75, model_version=version)
    song.predictions.create(genre=rock, probability=0.25)
    song.timeline = {"genres": ["jazz", "rock"], "frames": [[0.0, [0.75, 0.25]]]}
    song.save()
    label_song(song, rock, user)
    body = api.get(reverse("api-song-detail", args=[song.pk])).json()
    assert [(p["genre"]["slug"], p["probability"]) for p in body["predictions"]] == [("jazz", 0.75), ("rock", 0.25)]
    assert body["timeline"] == song.timeline and body["classified_with"] == "api-test"
    assert body["label"]["genre"]["slug"] == "rock" and body["label"]["labelled_by"] == "alice"
    assert body["stream_url"] == reverse("api-song-stream", args=[song.pk])


def test_status_endpoint(api, user):
    songs = [make_song(user), make_song(user, status=Song.Status.FAILED, failure_reason="Silent file")]
    body = api.get(reverse("api-song-status"), {"ids": f"{songs[0].pk},{songs[1].pk}"}).json()
    assert [(s["id"], s["status"], s["status_display"], s["failure_reason"]) for s in body] == [
        (songs[0].pk, "pending", "Queued", ""), (songs[1].pk, "failed", "Failed", "Silent file")]
    assert api.get(reverse("api-song-status"), {"ids": "1,x"}).status_code == 400
    assert api.get(reverse("api-song-status")).status_code == 400


def test_token_authentication(client, user, tmp_path):
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    response = client.post(reverse("api-song-list"), {"file": upload_of(write_song(tmp_path / "t.flac"))}, **auth)
    assert response.status_code == 201
    assert client.get(reverse("api-song-list"), **auth).json()["count"] == 1
    assert client.get(reverse("api-song-list")).status_code in (401, 403)


def test_genres_list_counts_visible_songs(api, user, other_user):
    jazz = genre("jazz")
    make_song(user, top_genre=jazz)
    make_song(other_user, top_genre=jazz, visibility=Song.Visibility.PRIVATE)
    body = {g["slug"]: g for g in api.get(reverse("api-genre-list")).json()}
    assert body["jazz"]["song_count"] == 1 and body["jazz"]["colour"] == jazz.colour


def test_owner_deletes_through_the_api(api, user, media_root, tmp_path, django_capture_on_commit_callbacks):
    song = ingest_uploads([upload_of(write_song(tmp_path / "x.wav"))], user)[0].song
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(reverse("api-song-detail", args=[song.pk])).status_code == 204
    assert not Song.objects.exists() and stored_files(media_root) == []
