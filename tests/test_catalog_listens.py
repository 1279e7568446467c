"""Listen counting: a play counts after 30 s or half the song, once, with one listen_counted signal; claims are
believed only as far as the wall clock allows, and listens are started at a limited rate."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from catalog.models import ListeningEvent
from catalog.services import LISTEN_SLACK_S, record_progress, start_listen
from catalog.signals import listen_counted
from tests.catalog_factories import fast_passwords, make_song  # noqa: F401

pytestmark = [pytest.mark.unit, pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def signals():
    received = []

    def receiver(sender, event_id, user_id, **kwargs):
        received.append((sender, event_id, user_id))

    listen_counted.connect(receiver)
    yield received
    listen_counted.disconnect(receiver)


def after(event: ListeningEvent, seconds: float):
    """The moment ``seconds`` after the listen started."""
    return event.started_at + timedelta(seconds=seconds)


def started_ago(event: ListeningEvent, seconds: float) -> None:
    """As if the listen had started ``seconds`` ago (the player has been playing since)."""
    ListeningEvent.objects.filter(pk=event.pk).update(started_at=timezone.now() - timedelta(seconds=seconds))


def test_under_30_seconds_does_not_count(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=True):
        event = record_progress(event, 29.5, now=after(event, 40))
    assert (event.seconds_listened, event.counted) == (29.5, False)
    assert signals == []


def test_passing_30_seconds_counts_once_with_one_signal(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=True):
        for seconds, at in ((10, 10), (31, 31), (45, 45), (20, 50), (240, 241)):
            event = record_progress(event, seconds, completed=seconds == 240, now=after(event, at))
    assert (event.seconds_listened, event.counted, event.completed) == (240, True, True)
    assert signals == [(ListeningEvent, event.pk, user.pk)]


def test_half_of_a_short_song_counts(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=40))
    with django_capture_on_commit_callbacks(execute=True):
        assert record_progress(event, 19, now=after(event, 19)).counted is False
        assert record_progress(event, 20, now=after(event, 20)).counted is True
    assert len(signals) == 1


def test_seconds_are_the_maximum_reported_and_capped_at_the_duration(user):
    event = start_listen(user, make_song(user, duration_s=100))
    record_progress(event, 70, now=after(event, 70))
    assert record_progress(event, 12, now=after(event, 80)).seconds_listened == 70
    assert record_progress(event, 1e9, now=after(event, 1e6)).seconds_listened == 100


def test_signal_waits_for_the_commit(user, signals, django_capture_on_commit_callbacks):
    event = start_listen(user, make_song(user, duration_s=240))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_progress(event, 60, now=after(event, 60))
    assert signals == [] and callbacks
    for callback in callbacks:  # the commit
        callback()
    assert signals == [(ListeningEvent, event.pk, user.pk)]


def test_api_flow_start_patch_and_beacon(client, user, signals, django_capture_on_commit_callbacks):
    song = make_song(user, duration_s=200)
    client.force_login(user)
    started = client.post(reverse("api-listen-list"), {"song": song.pk}, content_type="application/json")
    assert started.status_code == 201
    event_id = started.json()["id"]
    assert started.json()["counted"] is False
    started_ago(ListeningEvent.objects.get(pk=event_id), 32)  # the player has been playing since
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
    started_ago(event, 32)
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


# --- Claims the clock does not allow --------------------------------------------------------------------------------

def report(client, event_id: int, seconds: float):
    return client.patch(reverse("api-listen-detail", args=[event_id]), {"seconds_listened": seconds},
                        content_type="application/json")


def test_a_claim_beyond_the_time_since_the_start_is_cut_to_it_and_does_not_count(client, user, signals,
                                                                                 django_capture_on_commit_callbacks):
    song = make_song(user, duration_s=30)
    client.force_login(user)
    event_id = client.post(reverse("api-listen-list"), {"song": song.pk}, content_type="application/json").json()["id"]
    for claim in (29, 3600):  # 29 s of a 30 s song, 0.02 s after the start; then an hour
        answer = report(client, event_id, claim).json()
        assert answer["counted"] is False
        assert answer["seconds_listened"] <= LISTEN_SLACK_S + 1
    started_ago(ListeningEvent.objects.get(pk=event_id), 16)  # half the song has now really played
    with django_capture_on_commit_callbacks(execute=True):
        answer = report(client, event_id, 3600).json()
    assert answer["counted"] is True and answer["seconds_listened"] <= 16 + LISTEN_SLACK_S + 1
    assert len(signals) == 1


def test_listens_played_side_by_side_count_as_one_at_a_time(user, signals, django_capture_on_commit_callbacks):
    """300 listens started at once cannot all claim their 30 s when 30 s have passed: only the last one played."""
    start = timezone.now() - timedelta(seconds=60)
    songs = [make_song(user, duration_s=240) for _ in range(5)]
    events = []
    for n, song in enumerate(songs):
        event = start_listen(user, song)
        ListeningEvent.objects.filter(pk=event.pk).update(started_at=start + timedelta(milliseconds=10 * n))
        event.refresh_from_db()
        events.append(event)
    with django_capture_on_commit_callbacks(execute=True):
        reported = [record_progress(event, 45, now=after(event, 45)) for event in events]
    assert [event.counted for event in reported] == [False] * 4 + [True]
    assert all(event.seconds_listened <= LISTEN_SLACK_S + 0.1 for event in reported[:4])
    assert len(signals) == 1


def test_a_listen_played_before_the_next_one_started_keeps_its_time(user):
    """The player reports a skipped song's last progress just after the next song's listen started."""
    first = start_listen(user, make_song(user, duration_s=240))
    ListeningEvent.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(seconds=41))
    first.refresh_from_db()
    start_listen(user, make_song(user, duration_s=240))
    assert record_progress(first, 40.5).counted is True


def test_starting_listens_is_rate_limited_per_user(monkeypatch, user, other_user):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "60/min", "user": "1000/min", "listen": "3/min"})
    song = make_song(user)
    alice = Client()
    alice.force_login(user)
    start = reverse("api-listen-list")
    answers = [alice.post(start, {"song": song.pk}, content_type="application/json").status_code for _ in range(4)]
    assert answers == [201, 201, 201, 429]
    assert ListeningEvent.objects.filter(user=user).count() == 3
    event = ListeningEvent.objects.filter(user=user).first()
    assert report(alice, event.pk, 1).status_code == 200  # progress on a started listen is not limited
    bob = Client()
    bob.force_login(other_user)
    assert bob.post(start, {"song": song.pk}, content_type="application/json").status_code == 201
