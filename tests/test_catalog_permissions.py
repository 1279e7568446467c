"""Visibility: another member's private song does not exist for you, in pages, API and stream; history is yours."""

import pytest
from django.urls import reverse

from catalog.ingest import ingest_uploads
from catalog.models import ListeningEvent, Song
from tests.catalog_factories import genre, listened, make_song, fast_passwords, media_root, upload_of, write_song  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


@pytest.fixture
def private_song(user, tmp_path):
    song = ingest_uploads([upload_of(write_song(tmp_path / "mine.wav"))], user, Song.Visibility.PRIVATE)[0].song
    song.top_genre, song.top_probability, song.status = genre("jazz"), 0.9, Song.Status.CLASSIFIED
    song.save()
    return song


def urls(song):
    return [
        reverse("catalog:song-detail", args=[song.pk]),
        reverse("catalog:song-stream", args=[song.pk]),
        reverse("api-song-detail", args=[song.pk]),
        reverse("api-song-stream", args=[song.pk]),
    ]


def test_owner_sees_a_private_song_everywhere(client, user, private_song):
    client.force_login(user)
    for url in urls(private_song):
        assert client.get(url).status_code == 200, url
    assert private_song.title in client.get(reverse("catalog:song-list")).content.decode()
    assert [s["id"] for s in client.get(reverse("api-song-list")).json()["results"]] == [private_song.pk]


@pytest.mark.parametrize("who", ["other", "anonymous"])
def test_others_get_404_and_no_trace(client, other_user, private_song, who):
    if who == "other":
        client.force_login(other_user)
    for url in urls(private_song):
        assert client.get(url).status_code in ((404,) if who == "other" or "/api/" not in url else (401, 403)), url
    assert private_song.title not in client.get(reverse("catalog:song-list")).content.decode()
    assert private_song.title not in client.get(reverse("catalog:genre-detail", args=["jazz"])).content.decode()
    assert "0 songs" in client.get(reverse("catalog:genre-list")).content.decode()
    if who == "other":
        assert client.get(reverse("api-song-list")).json()["results"] == []
        assert client.get(reverse("api-song-status"), {"ids": str(private_song.pk)}).json() == []
        assert client.post(reverse("api-listen-list"), {"song": private_song.pk}).status_code == 400
        assert client.get(reverse("catalog:song-delete", args=[private_song.pk])).status_code == 404


def test_staff_see_private_songs(client, staff_user, private_song):
    client.force_login(staff_user)
    assert client.get(reverse("catalog:song-detail", args=[private_song.pk])).status_code == 200


def test_shared_song_of_another_member_is_visible_but_not_editable(client, user, other_user):
    song = make_song(user)
    client.force_login(other_user)
    page = client.get(reverse("catalog:song-detail", args=[song.pk]))
    assert page.status_code == 200 and "Change visibility" not in page.content.decode()
    assert client.post(reverse("catalog:song-visibility", args=[song.pk]), {"visibility": "private"}).status_code == 404
    assert client.post(reverse("catalog:song-delete", args=[song.pk])).status_code == 404
    assert client.delete(reverse("api-song-detail", args=[song.pk])).status_code == 403
    assert Song.objects.get(pk=song.pk).visibility == Song.Visibility.SHARED


def test_history_is_per_user(client, user, other_user):
    song = make_song(user, title="Shared Tune")
    mine = listened(user, song, 45)
    theirs = listened(other_user, make_song(other_user, title="Bob's Tune"), 45)
    client.force_login(user)
    assert [entry["id"] for entry in client.get(reverse("api-history")).json()["results"]] == [mine.pk]
    page = client.get(reverse("catalog:history")).content.decode()
    assert "Shared Tune" in page and "Bob&#x27;s Tune" not in page and "Bob's Tune" not in page
    assert client.get(reverse("api-listen-detail", args=[theirs.pk])).status_code == 404
    assert client.patch(reverse("api-listen-detail", args=[theirs.pk]), {"seconds_listened": 1},
                        content_type="application/json").status_code == 404
    assert ListeningEvent.objects.get(pk=theirs.pk).seconds_listened == 45
    assert client.get(reverse("catalog:history")).status_code == 200
    client.logout()
    assert client.get(reverse("catalog:history")).status_code == 302
