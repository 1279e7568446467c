"""People's genre labels as training data: counting them per genre, and reshaping the genre taxonomy.

Labels (``catalog.GenreLabel``, set with ``catalog.services.label_song``) are kept apart from predictions; a
genre is ready to train on when it has at least ``settings.SKYBEAT_MIN_LABELS_PER_GENRE`` labelled songs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q

from catalog.models import Genre, GenreLabel, GenrePrediction, Song

from .models import ModelVersion


def min_labels_per_genre() -> int:
    return settings.SKYBEAT_MIN_LABELS_PER_GENRE


def labelled_song_counts() -> dict[int, int]:
    """Number of labelled songs per genre id (genres without labels are absent)."""
    rows = GenreLabel.objects.values("genre_id").annotate(n=Count("song_id", distinct=True))
    return {row["genre_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class GenreReadiness:
    genre: Genre
    labelled: int
    needed: int

    @property
    def ready(self) -> bool:
        return self.labelled >= self.needed

    @property
    def missing(self) -> int:
        return max(0, self.needed - self.labelled)

    @property
    def problem(self) -> str:
        """Why this genre cannot be trained on, or "" when it can."""
        if self.ready:
            return ""
        return f"genre '{self.genre.slug}' has {self.labelled} labelled songs, needs {self.needed}"


def readiness(genres=None) -> list[GenreReadiness]:
    """Readiness of ``genres`` (default: every genre that is not retired), in taxonomy order."""
    if genres is None:
        genres = Genre.objects.filter(retired=False)
    counts = labelled_song_counts()
    needed = min_labels_per_genre()
    return [GenreReadiness(genre, counts.get(genre.pk, 0), needed) for genre in genres]


def annotate_label_counts(genres):
    """``genres`` queryset with ``labelled_songs`` (for admin columns and ordering)."""
    return genres.annotate(labelled_songs=Count("labels__song", distinct=True))


def _retitle_timeline(timeline: dict, merged_slug: str, kept_slug: str) -> dict:
    """The song's per-frame scores with the merged genre's column added into the kept one's."""
    slugs = list(timeline.get("genres") or [])
    if merged_slug not in slugs:
        return timeline
    merged_at = slugs.index(merged_slug)
    if kept_slug not in slugs:
        slugs[merged_at] = kept_slug
        return {**timeline, "genres": slugs}
    kept_at = slugs.index(kept_slug)
    frames = []
    for start_s, probs in timeline.get("frames", []):
        probs = list(probs)
        probs[kept_at] += probs[merged_at]
        del probs[merged_at]
        frames.append([start_s, probs])
    del slugs[merged_at]
    return {**timeline, "genres": slugs, "frames": frames}


def _refresh_top_genre(song: Song) -> None:
    """Recompute a song's denormalised top genre from its genre vector."""
    best = GenrePrediction.objects.filter(song=song).order_by("-probability", "genre__ordering").first()
    if best is not None:
        song.top_genre_id, song.top_probability = best.genre_id, best.probability


@transaction.atomic
def merge_genres(kept: Genre, merged: Genre) -> str:
    """Fold ``merged`` into ``kept``: labels, predictions (probabilities add up) and timelines move to ``kept``.

    ``merged`` is deleted, unless a model version still names it among its outputs: then it is retired so
    those models keep resolving their outputs. Returns what happened to ``merged`` ("deleted" or "retired").
    """
    if kept.pk == merged.pk:
        raise ValueError("pick two different genres to merge")
    GenreLabel.objects.filter(genre=merged).update(genre=kept)

    touched_song_ids = set(GenrePrediction.objects.filter(genre=merged).values_list("song_id", flat=True))
    for prediction in GenrePrediction.objects.filter(genre=merged).select_for_update():
        existing = GenrePrediction.objects.filter(song_id=prediction.song_id, genre=kept).first()
        if existing is None:
            prediction.genre = kept
            prediction.save(update_fields=["genre"])
        else:
            existing.probability += prediction.probability
            existing.save(update_fields=["probability"])
            prediction.delete()

    songs = Song.objects.filter(Q(pk__in=touched_song_ids) | Q(top_genre=merged))
    for song in songs:
        song.timeline = _retitle_timeline(song.timeline or {}, merged.slug, kept.slug)
        if song.top_genre_id == merged.pk:
            song.top_genre = kept
        _refresh_top_genre(song)
        song.save(update_fields=["timeline", "top_genre", "top_probability"])

    still_named = any(merged.slug in (model.genres or []) for model in ModelVersion.objects.only("genres"))
    if still_named:
        merged.retired = True
        merged.save(update_fields=["retired"])
        return "retired"
    merged.delete()
    return "deleted"


def retire_genre(genre: Genre) -> None:
    """Take ``genre`` out of the taxonomy of new models; its labels and predictions stay."""
    if not genre.retired:
        genre.retired = True
        genre.save(update_fields=["retired"])
