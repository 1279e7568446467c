"""Admin: song list with filters and search, read-only predictions, reclassify and retry actions, genres."""

import pytest
from django.urls import reverse

from catalog.models import Genre, ListeningEvent, Song
from catalog.services import start_listen
from classifier.models import ModelVersion
from tests.catalog_factories import fast_passwords, genre, make_song  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "r00t-Long-pass-phrase")
    client.force_login(admin)
    return client


def test_song_changelist_filters_and_searches(admin_client, user):
    jazz = genre("jazz")
    make_song(user, title="Findable Tune", top_genre=jazz)
    make_song(user, title="Other", status=Song.Status.FAILED)
    url = reverse("admin:catalog_song_changelist")
    page = admin_client.get(url, {"q": "findable"}).content.decode()
    assert "Findable Tune" in page and ">Other<" not in page
    failed = admin_client.get(url, {"status__exact": "failed"}).content.decode()
    assert "Other" in failed and "Findable Tune" not in failed
    for params in ({"top_genre__id__exact": jazz.pk}, {"audio__audio_format": "wav"}, {"uploaded_by__id__exact": user.pk}):
        assert admin_client.get(url, params).status_code == 200


def test_song_change_page_shows_read_only_predictions_and_links(admin_client, user):
    version = ModelVersion.objects.create(name="admin-test", architecture="crnn-from-scratch")
    song = make_song(user, top_genre=genre("jazz"), probability=0.66, model_version=version, spectrogram="spectrograms/x.png")
    page = admin_client.get(reverse("admin:catalog_song_change", args=[song.pk])).content.decode()
    assert "admin-test" in page and "0.66" in page
    assert reverse("catalog:song-stream", args=[song.pk]) in page
    assert reverse("catalog:song-spectrogram", args=[song.pk]) in page
    assert f"WAV · 180.0 s · — Hz · — channel(s) · 1000 bytes · SHA-256 {song.sha256} · 1 song(s)" in page
    assert 'name="predictions-0-probability"' not in page  # read-only inline


@pytest.mark.parametrize(("action", "expected"), [("reclassify_selected", 3), ("retry_failed", 1)])
def test_actions_reset_songs_to_pending_and_enqueue_after_commit(admin_client, user, action, expected,
                                                                 django_capture_on_commit_callbacks):
    songs = [make_song(user, status=Song.Status.FAILED, failure_reason="boom"),
             make_song(user, top_genre=genre("jazz")), make_song(user)]
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("admin:catalog_song_changelist"),
                                     {"action": action, "_selected_action": [s.pk for s in songs]}, follow=True)
    assert f"{expected} " in response.content.decode()
    assert len(callbacks) == 1  # one publication of all the reset songs, once committed
    failed = Song.objects.get(pk=songs[0].pk)
    assert (failed.status, failed.failure_reason) == (Song.Status.PENDING, "")
    classified = Song.objects.get(pk=songs[1].pk)
    assert classified.status == (Song.Status.PENDING if action == "reclassify_selected" else Song.Status.CLASSIFIED)


def test_genres_are_editable_in_the_list(admin_client):
    jazz = genre("jazz")
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": jazz.pk, "form-0-colour": "#123456",
            "form-0-ordering": "7", "_save": "Save"}
    response = admin_client.post(reverse("admin:catalog_genre_changelist") + f"?q={jazz.slug}", data)
    assert response.status_code == 302
    jazz.refresh_from_db()
    assert (jazz.colour, jazz.ordering) == ("#123456", 7)


def test_listening_events_are_read_only(admin_client, user):
    event = start_listen(user, make_song(user))
    assert admin_client.get(reverse("admin:catalog_listeningevent_change", args=[event.pk])).status_code == 200
    assert admin_client.get(reverse("admin:catalog_listeningevent_add")).status_code == 403
    admin_client.post(reverse("admin:catalog_listeningevent_change", args=[event.pk]), {"seconds_listened": 99})
    assert ListeningEvent.objects.get(pk=event.pk).seconds_listened == 0
    assert admin_client.get(reverse("admin:catalog_genrelabel_changelist")).status_code == 200
    assert Genre.objects.exists()
