"""No upload is lost: the sweep re-publishes stale songs through the real broker; uploads are published on commit."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.signals import worker_ready
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import Song
from catalog.services import requeue_stale_songs, stale_songs, stuck_processing_after_s
from catalog.tasks import sweep_on_worker_start
from tests.catalog_factories import fast_passwords, make_song, upload_of, write_song  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")

WORKER_WAIT_S = 240  # the worker's first task waits for the classifier's model to load


def wait_until(check, timeout_s: float = WORKER_WAIT_S, what: str = "condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def age(song: Song, seconds: float, status: str = Song.Status.PENDING) -> None:
    Song.objects.filter(pk=song.pk).update(status=status, status_changed_at=timezone.now() - timedelta(seconds=seconds))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sweep_publishes_stale_songs_and_skips_fresh_ones(celery_worker_process, user):
    stuck_after_s = stuck_processing_after_s()
    old_pending, stuck, fresh_pending, busy, done = (make_song(user) for _ in range(5))
    age(old_pending, settings.SKYBEAT_PENDING_SWEEP_AGE.total_seconds() + 30)
    age(stuck, stuck_after_s + 60, Song.Status.PROCESSING)
    age(busy, stuck_after_s - 60, Song.Status.PROCESSING)
    age(done, 10 * stuck_after_s, Song.Status.CLASSIFIED)
    before = timezone.now()

    published = requeue_stale_songs()

    assert set(published) == {old_pending.pk, stuck.pk}
    for song in (old_pending, stuck):
        song.refresh_from_db()
        assert song.status_changed_at >= before  # not swept again before another SKYBEAT_PENDING_SWEEP_AGE
    assert Song.objects.get(pk=fresh_pending.pk).status == Song.Status.PENDING
    assert Song.objects.get(pk=busy.pk).status == Song.Status.PROCESSING
    assert requeue_stale_songs() == {}  # nothing is stale any more
    log = Path(celery_worker_process.log_path)
    for task_id in published.values():  # the worker logs each message it receives, registered task or not
        wait_until(lambda: f"classify_song[{task_id}]" in log.read_text() or f"'id': '{task_id}'" in log.read_text(),
                   what=f"the worker to receive task {task_id}")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_upload_is_published_after_commit_and_the_worker_takes_it(celery_worker_process, client, user, tmp_path):
    client.force_login(user)
    response = client.post(reverse("api-song-list"), {"file": upload_of(write_song(tmp_path / "fresh.wav", seconds=4))})
    assert response.status_code == 201
    song_id = response.json()["uploads"][0]["song"]["id"]
    status = wait_until(lambda: Song.objects.filter(pk=song_id).exclude(status=Song.Status.PENDING)
                        .values_list("status", flat=True).first(), what="the worker to take the song")
    assert status in {Song.Status.PROCESSING, Song.Status.CLASSIFIED, Song.Status.FAILED}
    Song.objects.get(pk=song_id).audio_file.delete(save=False)


@pytest.mark.django_db(transaction=True)  # the handler closes its connection, as a worker's main process should
def test_the_sweep_also_runs_when_a_worker_starts(user):
    assert any(receiver() is sweep_on_worker_start for _, receiver in worker_ready.receivers)
    song = make_song(user)
    age(song, settings.SKYBEAT_PENDING_SWEEP_AGE.total_seconds() + 1)
    sweep_on_worker_start()
    song.refresh_from_db()
    assert song.status_changed_at > timezone.now() - timedelta(seconds=30)


@pytest.mark.django_db
def test_a_song_whose_worker_died_is_swept_two_minutes_after_the_hard_time_limit(user):
    """A live run ends at the task's hard time limit, so a song still processing a little after it lost its worker;
    the periodic sweep, every minute, queues it again instead of waiting several time limits."""
    limit_s = settings.CELERY_TASK_TIME_LIMIT
    running, orphaned = make_song(user), make_song(user)
    age(running, limit_s - 5, Song.Status.PROCESSING)
    age(orphaned, limit_s + 120, Song.Status.PROCESSING)

    assert list(stale_songs().values_list("pk", flat=True)) == [orphaned.pk]
    assert settings.CELERY_BEAT_SCHEDULE["enqueue-pending-songs"]["schedule"] <= timedelta(minutes=1)
