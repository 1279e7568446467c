"""Songs like a song, like a few songs, and a listener's "for you" mix: nearest neighbours in the similarity space
(similar.index), of which the viewer sees only songs they may see, read from the database on every request."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import ListeningEvent, Song

from .index import searcher, vectors_of

SIMILAR_COUNT = 10
#: Neighbours fetched per song wanted, before the visibility filter; doubled until the page is full.
OVERFETCH = 3
MIX_LENGTH = 20
MIX_SEEDS = 8
#: Listening older than this does not shape the mix.
MIX_WINDOW_DAYS = 90
SONG_RELATIONS = ("top_genre", "audio")


@dataclass(frozen=True)
class Neighbour:
    song: Song
    similarity: float


def visible_classified(user) -> QuerySet:
    return Song.objects.visible_to(user).filter(status=Song.Status.CLASSIFIED)


def nearest_visible(user, query: np.ndarray, count: int, *, exclude_audio: Collection[int] = (),
                    related: Iterable[str] = SONG_RELATIONS) -> list[Neighbour]:
    """The ``count`` songs ``user`` may see nearest a projected ``query``, one per audio (the viewer's own upload
    first), leaving out the audios ``exclude_audio``. Fetches ``OVERFETCH``× as many neighbours as wanted, then
    more, until ``count`` songs survive the filter or the library has no more."""
    index = searcher()
    fetch = (count + len(exclude_audio)) * OVERFETCH
    while True:
        hits = dict(index.search(query, fetch))
        candidates = visible_classified(user).filter(audio_id__in=hits.keys() - set(exclude_audio)).select_related(*related)
        best: dict[int, Song] = {}
        for song in candidates:
            kept = best.get(song.audio_id)
            if kept is None or (song.uploaded_by_id == user.pk, -song.pk) > (kept.uploaded_by_id == user.pk, -kept.pk):
                best[song.audio_id] = song
        if len(best) >= count or len(hits) < fetch:
            break
        fetch *= 4
    ranked = sorted(best.values(), key=lambda song: (-hits[song.audio_id], song.pk))
    return [Neighbour(song, hits[song.audio_id]) for song in ranked[:count]]


def similar_songs(user, song: Song, count: int = SIMILAR_COUNT, related: Iterable[str] = SONG_RELATIONS) -> list[Neighbour]:
    """The songs ``user`` may see that sound most like ``song`` (none if it has no embedding yet)."""
    vector = vectors_of([song.audio_id]).get(song.audio_id)
    if vector is None:
        return []
    return nearest_visible(user, vector, count, exclude_audio={song.audio_id}, related=related)


def songs_like(user, seeds: list[Song], count: int, related: Iterable[str] = SONG_RELATIONS) -> list[Neighbour]:
    """The songs ``user`` may see nearest the centre of ``seeds``' sounds, the seeds left out."""
    vectors = list(vectors_of({seed.audio_id for seed in seeds}).values())
    if not vectors:
        return []
    centre = np.mean(vectors, axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    return nearest_visible(user, centre, count, exclude_audio={seed.audio_id for seed in seeds}, related=related)


# --- The "for you" mix -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MixEntry:
    song: Song
    because: Song  # the played song it sounds like


def listening_weights(user, now=None) -> dict[int, float]:
    """Song id -> the user's counted plays of it, each weighted 2^(−age / half-life) as in the mood profile."""
    now = now or timezone.now()
    half_life_s = settings.SKYBEAT_MOOD_HALF_LIFE_DAYS * 86400.0
    plays = (ListeningEvent.objects.filter(user=user, counted=True, started_at__gte=now - timedelta(days=MIX_WINDOW_DAYS))
             .values_list("song_id", "started_at"))
    weights: dict[int, float] = {}
    for song_id, started_at in plays:
        weights[song_id] = weights.get(song_id, 0.0) + 2.0 ** ((started_at - now).total_seconds() / half_life_s)
    return weights


def recently_played(user, now=None) -> set[int]:
    """Songs the user started in the last ``SKYBEAT_MIX_SKIP_DAYS`` days (counted or not)."""
    since = (now or timezone.now()) - timedelta(days=settings.SKYBEAT_MIX_SKIP_DAYS)
    return set(ListeningEvent.objects.filter(user=user, started_at__gte=since).values_list("song_id", flat=True))


def for_you(user, length: int = MIX_LENGTH, now=None) -> list[MixEntry]:
    """The user's mix: songs that sound like what they played lately, most-played seeds first, taking turns between
    the seeds; songs played in the last days left out. Empty for someone who has played nothing yet."""
    weights = listening_weights(user, now)
    if not weights:
        return []
    seeds = sorted(visible_classified(user).filter(pk__in=weights).select_related("audio"),
                   key=lambda song: (-weights[song.pk], song.pk))[:MIX_SEEDS]
    vectors = vectors_of({seed.audio_id for seed in seeds})
    seeds = [seed for seed in seeds if seed.audio_id in vectors]
    skip_songs = recently_played(user, now) | set(weights)
    skip_audio = set(Song.objects.filter(pk__in=skip_songs).values_list("audio_id", flat=True))
    per_seed = -(-length // max(1, len(seeds))) + 1
    queues = [[n.song for n in nearest_visible(user, vectors[seed.audio_id], per_seed, exclude_audio=skip_audio)]
              for seed in seeds]
    mix: list[MixEntry] = []
    taken: set[int] = set()
    for turn in range(per_seed):
        for seed, queue in zip(seeds, queues):
            if turn < len(queue) and queue[turn].audio_id not in taken and len(mix) < length:
                taken.add(queue[turn].audio_id)
                mix.append(MixEntry(queue[turn], seed))
    return mix


# --- Mood radio --------------------------------------------------------------------------------------------------


def flowing_radio(candidates: list[Song], length: int) -> list[Song]:
    """Order a mood radio's candidates (nearest the mood first, ``mood_distance`` annotated) so that each song
    sounds like the one before: greedily the candidate with the best sound similarity to the previous song minus
    ``SKYBEAT_RADIO_MOOD_WEIGHT`` × its mood distance (relative to the pool's farthest). Songs without an embedding
    count as neither like nor unlike."""
    if not candidates:
        return []
    vectors = vectors_of({song.audio_id for song in candidates})
    farthest = max(max(song.mood_distance for song in candidates), 1e-9)
    weight = settings.SKYBEAT_RADIO_MOOD_WEIGHT
    queue, pool = [candidates[0]], candidates[1:]
    while pool and len(queue) < length:
        previous = vectors.get(queue[-1].audio_id)

        def score(song: Song) -> float:
            vector = vectors.get(song.audio_id)
            sound = float(previous @ vector) if previous is not None and vector is not None else 0.0
            return sound - weight * song.mood_distance / farthest

        queue.append(pool.pop(max(range(len(pool)), key=lambda i: score(pool[i]))))
    return queue
