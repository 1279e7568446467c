"""The catalog's business logic: queueing songs for classification, searching, listening, labels, deletion."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from skybeat.queue import BrokerUnavailable, publish

from . import extensions, read_cache
from .models import AudioBlob, Genre, GenreLabel, ListeningEvent, Song
from .signals import listen_counted

logger = logging.getLogger(__name__)

CLASSIFY_QUEUE = "classification"
#: A song still "processing" this many seconds past the task's hard time limit (which ends any live run) lost its
#: worker, e.g. to a SIGKILL: the sweep, every minute, queues it again.
STUCK_PROCESSING_MARGIN_S = 60
SWEEP_LIMIT = 5000  # songs re-enqueued per sweep; the next sweep takes the rest

COUNT_AFTER_S = 30.0  # a listen counts as a play after 30 s, or half the song if that is shorter
#: The request that starts a listen may reach the server this long after the music started playing.
LISTEN_SLACK_S = 2.0

SORTS: dict[str, tuple] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "title": ("title", "id"),
    "artist": ("artist", "title", "id"),
    "duration": (F("audio__duration_s").asc(nulls_last=True), "id"),
    "confidence": (F("top_probability").desc(nulls_last=True), "-id"),
}


# --- Classification queue ------------------------------------------------------------------------------------


def enqueue_classification(song_ids: Iterable[int]) -> dict[int, str]:
    """Publish the classification task (SKYBEAT_CLASSIFY_TASK) for each song; returns {song id: task id}, without
    the songs the broker refused.

    When the broker is down the songs simply stay ``pending``: the periodic sweep publishes them later.
    """
    song_ids = list(song_ids)
    try:
        task_ids = publish(settings.SKYBEAT_CLASSIFY_TASK, ([song_id] for song_id in song_ids), queue=CLASSIFY_QUEUE)
    except BrokerUnavailable as exc:
        task_ids = exc.published
        logger.warning(
            "Broker unreachable (%s): %d song(s) stay pending until the sweep enqueues them.",
            exc, len(song_ids) - len(task_ids),
        )
    return dict(zip(song_ids, task_ids))


def stuck_processing_after_s() -> int:
    return settings.CELERY_TASK_TIME_LIMIT + STUCK_PROCESSING_MARGIN_S


def stale_songs(now=None) -> QuerySet:
    """Songs whose classification message was lost: pending too long, or processing far past the time limit."""
    now = now or timezone.now()
    pending_before = now - settings.SKYBEAT_PENDING_SWEEP_AGE
    stuck_before = now - timedelta(seconds=stuck_processing_after_s())
    return Song.objects.filter(
        Q(status=Song.Status.PENDING, status_changed_at__lt=pending_before)
        | Q(status=Song.Status.PROCESSING, status_changed_at__lt=stuck_before)
    )


def requeue_stale_songs() -> dict[int, str]:
    """Mark stale songs pending again (now) and publish them; returns {song id: task id} of those published."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            stale_songs(now).select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True)[:SWEEP_LIMIT]
        )
        Song.objects.filter(pk__in=ids).update(status=Song.Status.PENDING, status_changed_at=now)
        if ids:
            read_cache.songs_changed()
    if ids:
        logger.info("Re-enqueueing %d stale song(s)", len(ids))
    return enqueue_classification(ids)


def reclassify(songs: QuerySet) -> int:
    """Reset songs to pending and enqueue them after the commit; returns how many."""
    ids = list(songs.values_list("pk", flat=True))
    Song.objects.filter(pk__in=ids).update(status=Song.Status.PENDING, failure_reason="", status_changed_at=timezone.now())

    def committed() -> None:
        read_cache.songs_changed()  # song rows show the status
        enqueue_classification(ids)

    transaction.on_commit(committed)
    return len(ids)


# --- Browsing -------------------------------------------------------------------------------------------------


def with_list_relations(songs: QuerySet) -> QuerySet:
    """What a song row shows without another query per row (the timeline, large and unused in rows, stays behind)."""
    songs = songs.select_related("audio", "top_genre", "uploaded_by").defer("timeline")
    return extensions.extend_song_list(songs)


def search_songs(user, *, q: str = "", genre: Genre | None = None, uploader: str = "", status: str = "",
                 sort: str = "newest", **extra_filters) -> QuerySet:
    """The songs ``user`` may see, filtered and sorted as the library page and the API ask.

    ``extra_filters`` are those other apps registered (:func:`catalog.extensions.register_song_filter`); raises
    :class:`catalog.extensions.SongFilterError`, with a message for the user, for a value that names nothing.
    """
    songs = Song.objects.visible_to(user)
    if q:
        songs = songs.filter(Q(title__icontains=q) | Q(artist__icontains=q) | Q(album__icontains=q))
    if genre is not None:
        songs = songs.filter(top_genre=genre)
    if uploader:
        songs = songs.filter(uploaded_by__username=uploader)
    if status:
        songs = songs.filter(status=status)
    songs = songs.order_by(*SORTS.get(sort or "newest", SORTS["newest"]))
    return with_list_relations(extensions.filter_songs(songs, extra_filters))


def genre_songs(user, genre: Genre) -> QuerySet:
    """Songs whose top genre it is: those the classifier is sure of first, each group most confident first.

    Plain DESC (not NULLS LAST) so PostgreSQL walks the (top_genre, genre_uncertain, -top_probability) index
    instead of sorting the whole genre: a song with a top genre always has its probability.
    """
    return with_list_relations(
        Song.objects.visible_to(user).filter(top_genre=genre).order_by("genre_uncertain", "-top_probability", "id")
    )


def genres_with_counts(user) -> list[Genre]:
    """Non-retired genres, each with ``song_count``: the songs ``user`` may see whose top genre it is."""
    counts = dict(
        Song.objects.visible_to(user).filter(top_genre__isnull=False).order_by()
        .values_list("top_genre").annotate(n=Count("pk"))
    )
    genres = list(Genre.objects.filter(retired=False))
    for genre in genres:
        genre.song_count = counts.get(genre.pk, 0)
    return genres


def song_predictions(song: Song) -> list:
    """The song's genre vector, most likely first."""
    return list(song.predictions.select_related("genre"))


# --- Listening ------------------------------------------------------------------------------------------------


def start_listen(user, song: Song) -> ListeningEvent:
    return ListeningEvent.objects.create(user=user, song=song, started_at=timezone.now())


def play_threshold_s(duration_s: float | None) -> float:
    return min(COUNT_AFTER_S, duration_s / 2) if duration_s else COUNT_AFTER_S


def listening_bound_s(event: ListeningEvent, now) -> float:
    """The most seconds ``event`` can have played by ``now``: the wall-clock time since it started, until the same
    listener started another listen if they did (one song at a time), plus LISTEN_SLACK_S."""
    next_start = (ListeningEvent.objects.filter(user_id=event.user_id, started_at__gt=event.started_at)
                  .order_by("started_at").values_list("started_at", flat=True).first())
    end = min(now, next_start) if next_start else now
    return max(0.0, (end - event.started_at).total_seconds()) + LISTEN_SLACK_S


def record_progress(event: ListeningEvent, seconds_listened: float, completed: bool = False,
                    now=None) -> ListeningEvent:
    """Keep the largest believable listening time; the first time it passes the threshold the play counts.

    A claim is clamped to the song's duration and to :func:`listening_bound_s`, so a client cannot count a play
    faster than the music plays. ``listen_counted`` is sent once per event, after the commit (the conditional
    UPDATE makes it race-free).
    """
    seconds = float(seconds_listened)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("seconds_listened must be a finite number of seconds, 0 or more.")
    seconds = min(seconds, listening_bound_s(event, now or timezone.now()))
    duration = event.song.audio.duration_s
    if duration:
        seconds = min(seconds, duration)
    with transaction.atomic():
        events = ListeningEvent.objects.filter(pk=event.pk)
        events.update(seconds_listened=Greatest(F("seconds_listened"), seconds))
        if completed:
            events.update(completed=True)
        read_cache.bump(read_cache.history_scope(event.user_id))
        if seconds >= play_threshold_s(duration) and events.filter(counted=False).update(counted=True):
            event_id, user_id = event.pk, event.user_id
            transaction.on_commit(
                lambda: listen_counted.send(sender=ListeningEvent, event_id=event_id, user_id=user_id)
            )
    event.refresh_from_db()
    return event


def record_play(user, song: Song, started_at=None) -> ListeningEvent:
    """A play reported after the fact (a phone app's scrobble): the whole song was listened to, so it counts.

    The same song reported again at the same instant (an app retrying) records nothing more.
    """
    seconds = song.audio.duration_s or COUNT_AFTER_S
    # Apps scrobble at the end of a song: without a start time, it started a song's length ago. The claim is still
    # cut to the time since then (record_progress), so a future start time counts nothing.
    started_at = started_at or timezone.now() - timedelta(seconds=seconds)
    event, created = ListeningEvent.objects.get_or_create(user=user, song=song, started_at=started_at)
    if not created:
        return event
    return record_progress(event, seconds, completed=True)


def history(user) -> QuerySet:
    """The user's plays (listens that counted) of songs they may still see, newest first."""
    return (
        ListeningEvent.objects.filter(user=user, counted=True, song__in=Song.objects.visible_to(user))
        .select_related("song", "song__audio", "song__top_genre")
        .order_by("-started_at")
    )


# --- Editing ----------------------------------------------------------------------------------------------------


def label_song(song: Song, genre: Genre, user) -> GenreLabel:
    label, _ = GenreLabel.objects.update_or_create(song=song, defaults={"genre": genre, "labelled_by": user})
    return label


def set_visibility(song: Song, visibility: str) -> None:
    song.visibility = visibility
    song.save(update_fields=["visibility"])


def delete_song(song: Song) -> None:
    """Delete the song, its predictions, labels and listens; its audio and spectrogram go too once no song uses
    them any more (the files once the deletion is committed).

    The audio's row stays locked meanwhile, so an upload of the same bytes lands either before (and keeps the
    audio) or after (and stores it anew): see :func:`catalog.ingest.add_song`.
    """
    with transaction.atomic():
        audio = AudioBlob.objects.select_for_update().get(pk=song.audio_id)
        spectrogram = song.spectrogram.name
        song.delete()
        names = [spectrogram] if spectrogram and not Song.objects.filter(spectrogram=spectrogram).exists() else []
        if not audio.songs.exists():
            names.append(audio.file.name)
            audio.delete()
        transaction.on_commit(lambda: [default_storage.delete(name) for name in names])
