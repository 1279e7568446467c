"""Songs with audio embeddings for the similar-songs tests: directions in the backbones' 400-d space."""

import numpy as np
import pytest

from catalog.models import Song
from classifier.models import AudioEmbedding, ModelVersion
from similar import index
from tests.catalog_factories import genre, make_song

DIM = 400


@pytest.fixture(autouse=True)
def fresh_searcher(monkeypatch):
    """Every test starts with a new process-wide searcher (ids are reused between rolled-back tests)."""
    monkeypatch.setattr(index, "_searcher", None)


def direction(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(DIM)


def near(base: np.ndarray, seed: int, spread: float = 0.05) -> np.ndarray:
    return base + spread * np.linalg.norm(base) / np.sqrt(DIM) * np.random.default_rng(10_000 + seed).standard_normal(DIM)


def model() -> ModelVersion:
    return ModelVersion.objects.get_or_create(name="similar-test", defaults={"architecture": "crnn-fusion"})[0]


def sounding(vector: np.ndarray, user=None, genre_slug: str = "rock", **fields) -> Song:
    """A classified song whose audio has the embedding ``vector``."""
    song = make_song(user, top_genre=genre(genre_slug), **fields)
    AudioEmbedding.store(song.audio_id, model().pk, vector / np.linalg.norm(vector))
    return song
