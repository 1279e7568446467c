"""Listen counting: a play counts after 30 s or half the song, once, with one listen_counted signal."""

import pytest
from django.urls import reverse

from catalog.models import ListeningEvent
from catalog.services import record_progress, start_listen
from catalog.signals import listen_counted
from tests.catalog_factories import fast_passwords, make_song  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def signals():
    received = []

    def receiver(sender, event_id, user_id, **kwargs):
        received.append((sender, event_id, user_id))

    listen_counted.connect(receiver)
    yield received
    listen_counted.disconnect(receiver)


def test_under_30_seconds_does_not_count(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=True):
        event = record_progress(event, 29.5)
    assert (event.seconds_listened, event.counted) == (29.5, False)
    assert signals == []


def test_passing_30_seconds_counts_once_with_one_signal(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=True):
        for seconds in (10, 31, 45, 20, 240):
            event = record_progress(event, seconds, completed=seconds == 240)
    assert (event.seconds_listened, event.counted, event.completed) == (240, True, True)
    assert signals == [(ListeningEvent, event.pk, user.pk)]


def test_half_of_a_short_song_counts(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=40))
    with django_capture_on_commit_callbacks(execute=True):
        assert record_progress(event, 19).counted is False
        assert record_progress(event, 20).counted is True
    assert len(signals) == 1


def test_seconds_are_the_maximum_reported_and_capped_at_the_duration(user):
    event = start_listen(user, make_song(user, duration_s=100))
    record_progress(event, 70)
    assert record_progress(event, 12).seconds_listened == 70
    assert record_progress(event, 1e9).seconds_listened == 100


def test_signal_waits_for_the_commit(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_progress(event, 60)
    assert signals == [] and len(callbacks) == 1


def test_api_flow_start_patch_and_beacon(client, user, signals, django_capture_on_commit_callbacks):
    song = make_song(user, duration_s=200)
    client.force_login(user)
    started = client.post(reverse("api-listen-list"), {"song": song.pk}, content_type="application/json")
    assert started.status_code == 201
    event_id = started.json()["id"]
    assert started.json()["counted"] is False
    patched = client.patch(reverse("api-listen-detail", args=[event_id]), {"seconds_listened": 12.5},
                           content_type="application/json")
    assert patched.json()["seconds_listened"] == 12.5
    with django_capture_on_commit_callbacks(execute=True):
        beacon = client.post(reverse("api-listen-progress", args=[event_id]), {"seconds_listened": "31", "completed": "false"})
    assert beacon.status_code == 200 and beacon.json()["counted"] is True
    assert signals == [(ListeningEvent, event_id, user.pk)]


def test_beacon_needs_the_csrf_token_in_the_body(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    event = start_listen(user, make_song(user))
    url = reverse("api-listen-progress", args=[event.pk])
    assert client.post(url, {"seconds_listened": "31"}).status_code == 403
    client.get(reverse("catalog:song-detail", args=[event.song_id]))  # sets the CSRF cookie, like the page does
    token = client.cookies["csrftoken"].value
    assert client.post(url, {"seconds_listened": "31", "csrfmiddlewaretoken": token}).status_code == 200
    assert ListeningEvent.objects.get(pk=event.pk).counted


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_bad_progress_is_a_400(client, user, value):
    event = start_listen(user, make_song(user))
    client.force_login(user)
    response = client.post(reverse("api-listen-progress", args=[event.pk]), {"seconds_listened": value})
    assert response.status_code == 400
    assert "seconds_listened" in response.json()
