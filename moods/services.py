"""Moods in the database: song moods, and users' daily snapshots updated per listen or recomputed in bulk."""

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from catalog import read_cache
from catalog.models import GenrePrediction, ListeningEvent, Song

from .models import AppliedListen, GenreMood, MoodSnapshot, SongMood
from .profile import MOODS, MoodPoint, Profile, Sums, blend, decay, normalised, profile_from_sums, songs_near_mood

#: Users recomputed per transaction by :func:`recompute_profiles`.
RECOMPUTE_BATCH_USERS = 1000
#: Songs in a mood radio's queue.
RADIO_QUEUE_LENGTH = 25
#: Candidates a radio sequencer chooses from, per song of the queue.
RADIO_POOL_FACTOR = 3

RadioSequencer = Callable[[list[Song], int], list[Song]]
_radio_sequencer: RadioSequencer | None = None


def half_life_s() -> float:
    return settings.SKYBEAT_MOOD_HALF_LIFE_DAYS * 86400.0


def end_of_day(day: date) -> datetime:
    """The reference instant of ``day``'s snapshot: the following midnight in the site's time zone."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def genre_mapping() -> dict[int, MoodPoint]:
    rows = GenreMood.objects.order_by().values_list("genre_id", "valence", "arousal", *MOODS)
    return {genre_id: MoodPoint.of(valence, arousal, dict(zip(MOODS, weights)))
            for genre_id, valence, arousal, *weights in rows}


def song_vectors(song_ids: Iterable[int] | QuerySet) -> dict[int, dict[int, float]]:
    """Genre probabilities (summing to 1) of songs: their genre vectors."""
    song_ids = song_ids if isinstance(song_ids, QuerySet) else list(song_ids)
    rows = GenrePrediction.objects.filter(song_id__in=song_ids)
    vectors: dict[int, dict[int, float]] = {}
    for song_id, genre_id, probability in rows.filter(probability__gt=0).values_list(
        "song_id", "genre_id", "probability"
    ).order_by():
        vectors.setdefault(song_id, {})[genre_id] = probability
    return {song_id: normalised(vector) for song_id, vector in vectors.items()}


# --- Song moods -------------------------------------------------------------------------------------------------


def update_song_moods(song_ids: Iterable[int], mapping: dict[int, MoodPoint] | None = None) -> int:
    """(Re)compute the SongMood of each song; songs without a genre vector lose theirs. Returns how many were set."""
    song_ids = list(song_ids)
    mapping = genre_mapping() if mapping is None else mapping
    vectors = song_vectors(song_ids)
    moods = []
    for song_id, vector in vectors.items():
        mixed = blend(vector, mapping)
        moods.append(SongMood(song_id=song_id, valence=mixed.valence, arousal=mixed.arousal,
                              dominant=mixed.dominant, moods=mixed.moods))
    with transaction.atomic():
        SongMood.objects.filter(song_id__in=set(song_ids) - vectors.keys()).delete()
        SongMood.objects.bulk_create(
            moods, update_conflicts=True, unique_fields=["song"],
            update_fields=["valence", "arousal", "dominant", "moods", "updated_at"],
        )
    read_cache.songs_changed()  # song rows show the mood
    return len(moods)


def refresh_songs_for_genre(genre_id: int, batch_size: int = 500) -> int:
    """Recompute the moods of every song whose genre vector involves ``genre_id`` (after its mapping changed)."""
    song_ids = list(
        Song.objects.filter(
            predictions__genre_id=genre_id,
            predictions__probability__gt=0,
        ).values_list("pk", flat=True).order_by("pk").distinct()
    )
    mapping = genre_mapping()
    return sum(update_song_moods(song_ids[i:i + batch_size], mapping) for i in range(0, len(song_ids), batch_size))


# --- Snapshots --------------------------------------------------------------------------------------------------


def sums_of(snapshot: MoodSnapshot) -> Sums:
    genres = {int(genre_id): value for genre_id, value in snapshot.genre_seconds.items()}
    return Sums(genres, snapshot.decayed_seconds, snapshot.decayed_plays)


def store_sums(snapshot: MoodSnapshot, sums: Sums, mapping: dict[int, MoodPoint]) -> None:
    """Put ``sums`` and the profile they give at the snapshot's reference instant on ``snapshot`` (unsaved)."""
    profile = profile_from_sums(sums, mapping)
    snapshot.genre_seconds = {str(g): s for g, s in sums.genre_seconds.items()}
    snapshot.decayed_seconds = sums.seconds
    snapshot.decayed_plays = sums.plays
    snapshot.distribution = {str(g): share for g, share in profile.distribution.items()}
    snapshot.valence = profile.blend.valence if profile.blend else None
    snapshot.arousal = profile.blend.arousal if profile.blend else None
    snapshot.moods = profile.blend.moods if profile.blend else {}
    snapshot.dominant = profile.dominant
    snapshot.confidence = profile.confidence


SNAPSHOT_FIELDS = ["genre_seconds", "decayed_seconds", "decayed_plays", "plays", "seconds", "distribution",
                   "valence", "arousal", "moods", "dominant", "confidence", "updated_at"]


def _locked_snapshot(user_id: int, day: date, mapping: dict[int, MoodPoint]) -> MoodSnapshot:
    """The user's snapshot for ``day``, row-locked; a new one carries the latest earlier snapshot forward."""
    found = MoodSnapshot.objects.select_for_update().filter(user_id=user_id, date=day).first()
    if found:
        return found
    snapshot = MoodSnapshot(user_id=user_id, date=day, reference_at=end_of_day(day))
    previous = MoodSnapshot.objects.filter(user_id=user_id, date__lt=day).order_by("-date").first()
    if previous:
        factor = decay(previous.reference_at, snapshot.reference_at, half_life_s())
        snapshot.plays, snapshot.seconds = previous.plays, previous.seconds
        store_sums(snapshot, sums_of(previous).rescaled(factor), mapping)
    try:
        with transaction.atomic():
            snapshot.save()
    except IntegrityError:  # another worker created it first
        return MoodSnapshot.objects.select_for_update().get(user_id=user_id, date=day)
    return snapshot


def apply_listen(event_id: int, now: datetime | None = None) -> bool:
    """Add one counted listen to its user's snapshot for today. Idempotent: False if already applied or not counted."""
    now = now or timezone.now()
    with transaction.atomic():
        event = ListeningEvent.objects.filter(pk=event_id, counted=True).first()
        if event is None:
            return False
        mapping = genre_mapping()
        snapshot = _locked_snapshot(event.user_id, timezone.localdate(now), mapping)
        if AppliedListen.objects.filter(event_id=event_id).exists():  # checked under the snapshot's lock
            return False
        AppliedListen.objects.create(event_id=event_id)
        sums = sums_of(snapshot)
        weight = decay(event.started_at, snapshot.reference_at, half_life_s())
        sums.add(song_vectors([event.song_id]).get(event.song_id), event.seconds_listened, weight)
        snapshot.plays += 1
        snapshot.seconds += max(0.0, event.seconds_listened)
        store_sums(snapshot, sums, mapping)
        snapshot.save(update_fields=SNAPSHOT_FIELDS)
    return True


def recompute_profiles(user_ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Today's snapshot of each user from all their counted listens (None: every user who has any). Returns users."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    user_ids = None if user_ids is None else list(user_ids)
    listens = ListeningEvent.objects.filter(counted=True).order_by()
    if user_ids is not None:
        listens = listens.filter(user_id__in=user_ids)
    user_ids = sorted(set(listens.values_list("user_id", flat=True).distinct()) | set(user_ids or ()))
    mapping = genre_mapping()
    songs = SongMatrix(song_vectors(listens.values("song_id").distinct()))
    for start in range(0, len(user_ids), RECOMPUTE_BATCH_USERS):
        batch = user_ids[start:start + RECOMPUTE_BATCH_USERS]
        with transaction.atomic():
            _recompute_batch(batch, day, songs, mapping)
    return len(user_ids)


class SongMatrix:
    """Song genre vectors as a dense matrix, one row per song (sorted ids), one column per genre."""

    def __init__(self, vectors: dict[int, dict[int, float]]):
        self.genre_ids = sorted({g for vector in vectors.values() for g in vector})
        self.song_ids = np.array(sorted(vectors), dtype=np.int64)
        column = {g: i for i, g in enumerate(self.genre_ids)}
        self.rows = np.zeros((len(self.song_ids), len(self.genre_ids)))
        for row, song_id in enumerate(self.song_ids):
            for genre_id, probability in vectors[int(song_id)].items():
                self.rows[row, column[genre_id]] = probability

    def of(self, song_ids: np.ndarray) -> np.ndarray:
        """The vectors of ``song_ids`` (zeros for songs without one: unclassified)."""
        at = np.minimum(np.searchsorted(self.song_ids, song_ids), max(len(self.song_ids) - 1, 0))
        known = (self.song_ids[at] == song_ids) if len(self.song_ids) else np.zeros(len(song_ids), dtype=bool)
        vectors = np.zeros((len(song_ids), len(self.genre_ids)))
        vectors[known] = self.rows[at[known]]
        return vectors


def _recompute_batch(user_ids: list[int], day: date, songs: SongMatrix, mapping: dict[int, MoodPoint]) -> None:
    """Lock the batch's snapshots for ``day`` first, so a listen applied meanwhile waits and is not lost."""
    reference_at = end_of_day(day)
    MoodSnapshot.objects.bulk_create(
        [MoodSnapshot(user_id=u, date=day, reference_at=reference_at) for u in user_ids], ignore_conflicts=True
    )
    list(MoodSnapshot.objects.select_for_update().filter(user_id__in=user_ids, date=day).values_list("pk"))
    events = list(
        ListeningEvent.objects.filter(user_id__in=user_ids, counted=True)
        .annotate(applied=Exists(AppliedListen.objects.filter(event_id=OuterRef("pk"))))
        .order_by("user_id")
        .values_list("pk", "user_id", "song_id", "started_at", "seconds_listened", "applied")
    )
    totals = _sum_by_user(events, reference_at, songs)
    snapshots = []
    for user_id in user_ids:
        sums, plays, seconds = totals.get(user_id, (Sums(), 0, 0.0))
        snapshot = MoodSnapshot(user_id=user_id, date=day, reference_at=reference_at, plays=plays, seconds=seconds)
        store_sums(snapshot, sums, mapping)
        snapshots.append(snapshot)
    MoodSnapshot.objects.bulk_create(
        snapshots, update_conflicts=True, unique_fields=["user", "date"], update_fields=SNAPSHOT_FIELDS, batch_size=500
    )
    AppliedListen.objects.bulk_create(
        [AppliedListen(event_id=row[0]) for row in events if not row[5]], ignore_conflicts=True
    )


def _sum_by_user(events: list[tuple], reference_at: datetime, songs: SongMatrix) -> dict[int, tuple[Sums, int, float]]:
    """The same sums as :meth:`Sums.add` over each user's events, vectorised; ``events`` sorted by user."""
    if not events:
        return {}
    _, users, song_ids, started, seconds, _ = zip(*events)
    users = np.asarray(users)
    seconds = np.maximum(0.0, np.asarray(seconds, dtype=float))
    weights = np.exp2(np.array([(t - reference_at).total_seconds() for t in started]) / half_life_s())
    vectors = songs.of(np.asarray(song_ids, dtype=np.int64))
    genre_ids = songs.genre_ids
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    decayed_s = seconds * weights
    genre_rows = np.add.reduceat(decayed_s[:, None] * vectors, starts) if len(genre_ids) else np.zeros((len(starts), 0))
    columns = zip(users[starts], genre_rows, np.add.reduceat(decayed_s, starts), np.add.reduceat(weights, starts),
                  np.add.reduceat(seconds, starts), np.diff(np.r_[starts, len(users)]))
    return {
        int(user): (Sums({g: float(v) for g, v in zip(genre_ids, row) if v > 0}, float(dec_s), float(dec_plays)),
                    int(plays), float(total_s))
        for user, row, dec_s, dec_plays, total_s, plays in columns
    }


# --- Reading ----------------------------------------------------------------------------------------------------


def latest_snapshot(user) -> MoodSnapshot | None:
    return MoodSnapshot.objects.filter(user=user).order_by("-date").first()


def current_profile(user, now: datetime | None = None) -> tuple[MoodSnapshot | None, Profile | None]:
    """The latest snapshot's sums aged to ``now``, through today's mapping (an admin's edit shows at once)."""
    snapshot = latest_snapshot(user)
    if snapshot is None or snapshot.plays == 0:
        return snapshot, None
    aged = decay(snapshot.reference_at, now or timezone.now(), half_life_s())
    return snapshot, profile_from_sums(sums_of(snapshot), genre_mapping(), aged)


def set_radio_sequencer(sequencer: RadioSequencer | None) -> None:
    """Let an app that knows how songs sound order the radio (similar.apps): ``sequencer(candidates, length)`` gets
    the ``RADIO_POOL_FACTOR`` × ``length`` songs nearest the mood, nearest first, and returns the queue."""
    global _radio_sequencer
    _radio_sequencer = sequencer


def radio_songs(user, mood: str, length: int = RADIO_QUEUE_LENGTH, related: Iterable[str] = ()) -> list[Song]:
    """The mood radio: ``length`` songs ``user`` may see near ``mood`` (a name or "valence,arousal"), nearest first
    unless a sequencer orders them (see :func:`set_radio_sequencer`).

    Raises ValueError with a readable message for an unknown mood.
    """
    candidates = songs_near_mood(Song.objects.visible_to(user).select_related("mood", "top_genre", *related), mood)
    if _radio_sequencer is None:
        return list(candidates[:length])
    return _radio_sequencer(list(candidates[:length * RADIO_POOL_FACTOR]), length)
