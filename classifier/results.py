"""Writing a classification onto the catalog's song: its genre vector, top genre, timeline and spectrogram, and
the classifier's own record of which model did it (SongClassification)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from catalog.default_genres import genres_for
from catalog.models import GenrePrediction, Song
from catalog.signals import song_classified

from .models import AudioEmbedding, SongClassification

if TYPE_CHECKING:
    from .inference import FileClassification, LoadedModel

logger = logging.getLogger(__name__)

RESULT_FIELDS = ["top_genre", "top_probability", "genre_uncertain", "timeline", "spectrogram"]


def save_classification(song_id: int, loaded: LoadedModel, result: FileClassification, spectrogram: str) -> Song | None:
    """Replace the song's genre vector in one transaction, then announce it; a song deleted meanwhile gets none
    (and its new spectrogram is deleted)."""
    with transaction.atomic():
        song = Song.objects.select_for_update().filter(pk=song_id).first()
        if song is None:
            Song._meta.get_field("spectrogram").storage.delete(spectrogram)
            return None
        genres = genres_for(result.genres)
        top_slug, top_probability = result.top(1)[0]
        song.top_genre, song.top_probability = genres[top_slug], top_probability
        song.genre_uncertain, song.timeline = result.uncertain, result.timeline()
        song.spectrogram.name = spectrogram
        vector = {genres[slug].pk: float(p) for slug, p in zip(result.genres, result.song_probs, strict=True)}
        _store(song, loaded.version_id, vector)
        if result.embedding is not None:
            AudioEmbedding.store(song.audio_id, loaded.version_id, result.embedding)
    logger.info("Song %s: %s (%.2f) with %s", song_id, top_slug, top_probability, loaded.name)
    return song


def reuse_classification(song_id: int, model_version_id: int) -> Song | None:
    """Copy onto the song what this model found for another song of the same audio, and mark it classified.

    Identical bytes give identical results, so the network need not run again. Returns the song, or None when no
    song of its audio is classified with this model (or the song is gone). Announces ``song_classified``.
    """
    with transaction.atomic():
        song = Song.objects.select_for_update().filter(pk=song_id).first()
        source = None if song is None else (
            Song.objects.filter(audio_id=song.audio_id, status=Song.Status.CLASSIFIED,
                                classification__model_version_id=model_version_id)
            .exclude(pk=song.pk).order_by("pk").first()
        )
        if source is None:
            return None
        for field in RESULT_FIELDS:
            setattr(song, field, getattr(source, field))
        _store(song, model_version_id, dict(source.predictions.values_list("genre_id", "probability")))
    logger.info("Song %s: classification of song %s reused (same audio, model %s)", song_id, source.pk, model_version_id)
    return song


def _store(song: Song, model_version_id: int, vector: dict[int, float]) -> None:
    """Save the song's results (set on it already) as classified, its genre vector {genre id: probability} and the
    model that produced them; ``song_classified`` is sent after the commit."""
    GenrePrediction.objects.filter(song=song).delete()
    GenrePrediction.objects.bulk_create(
        [GenrePrediction(song=song, genre_id=genre_id, probability=p) for genre_id, p in vector.items()])
    SongClassification.objects.update_or_create(song=song, defaults={"model_version_id": model_version_id})
    song.status, song.failure_reason, song.status_changed_at = Song.Status.CLASSIFIED, "", timezone.now()
    song.save(update_fields=[*RESULT_FIELDS, "status", "failure_reason", "status_changed_at"])
    song_id = song.pk
    transaction.on_commit(lambda: song_classified.send(sender=Song, song_id=song_id))
