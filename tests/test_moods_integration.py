"""A counted listen reaches the user's mood snapshot through a real Celery worker."""

import time

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.signals import listen_counted
from moods.models import MoodSnapshot
from skybeat.celery import app

from .moods_factories import classified_song, listen, seeded_moods  # noqa: F401  (seeded_moods is a fixture)


def wait_for(condition, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the worker")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_counted_listen_updates_the_snapshot_through_the_worker(celery_worker_process, seeded_moods, user):
    song = classified_song({"reggae": 1.0})
    with transaction.atomic():
        event = listen(user, song, timezone.now(), seconds=180)
        listen_counted.send(sender=None, event_id=event.pk, user_id=user.pk)
        assert not MoodSnapshot.objects.filter(user=user).exists()  # enqueued only after the commit
    snapshot = wait_for(lambda: MoodSnapshot.objects.filter(user=user, plays=1).first())
    assert snapshot.seconds == 180 and snapshot.dominant == "happy"
    assert list(snapshot.distribution) == [str(song.top_genre_id or song.predictions.get().genre_id)]

    # The same event delivered again (e.g. a redelivered message) changes nothing.
    assert app.send_task("moods.tasks.update_profile_for_listen", args=[event.pk]).get(timeout=60) is False
    snapshot.refresh_from_db()
    assert snapshot.plays == 1

    # The nightly job runs on the worker too, and agrees with the incremental update.
    assert app.send_task("moods.tasks.recompute_all_profiles").get(timeout=60) == 1
    recomputed = MoodSnapshot.objects.get(pk=snapshot.pk)
    assert recomputed.plays == 1 and recomputed.valence == pytest.approx(snapshot.valence, rel=1e-9)
