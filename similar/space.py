"""The similarity space: where songs' audio embeddings are compared.

A stored embedding (the mean MSD + MTT musicnn embedding, 400-d, L2-normalised) is centred on the shipped base set
(the labelled GTZAN excerpts the default model was trained on) and split in two views, each L2-normalised:

- *sound*: its first ``SOUND_DIMS`` principal components (unsupervised; what the backbones hear);
- *genre*: its projection on the base set's shrinkage-LDA directions (``genres − 1`` of them), which spread the
  labelled genres apart.

The song's vector is ``(1 − GENRE_WEIGHT)·sound ⊕ GENRE_WEIGHT·genre``, L2-normalised: cosine similarity is a dot
product. Leave-one-out on genre-train (bench/similar.py) chose the weights: precision@5 0.73 for the centred
embedding alone, about 0.80 with the genre view.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.linalg

SOUND_DIMS = 64
LDA_SHRINKAGE = 0.3
GENRE_WEIGHT = 0.7
EMBEDDING_DIM = 400  # MSD + MTT musicnn (classifier.genre_model.FusionGenreModel.EMBEDDING_DIM)
SHIPPED_SPACE = Path(__file__).resolve().parent / "shipped" / "space.npz"


def normalised(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


@dataclass(frozen=True)
class Space:
    mean: np.ndarray  # (400,)
    sound: np.ndarray  # (400, SOUND_DIMS)
    genre: np.ndarray  # (400, genres - 1)
    genre_weight: float = GENRE_WEIGHT

    @property
    def dims(self) -> int:
        return self.sound.shape[1] + self.genre.shape[1]

    def project(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, 400) stored embeddings -> (n, dims) float32 unit vectors."""
        centred = normalised(np.atleast_2d(np.asarray(embeddings, np.float64))) - self.mean
        parts = [normalised(centred @ self.sound) * (1 - self.genre_weight),
                 normalised(centred @ self.genre) * self.genre_weight]
        return normalised(np.hstack(parts)).astype(np.float32)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for array in (self.mean, self.sound, self.genre, np.array([self.genre_weight])):
            digest.update(np.ascontiguousarray(array, np.float64).tobytes())
        return digest.hexdigest()[:16]


def fit_space(embeddings: np.ndarray, genres: np.ndarray, *, sound_dims: int = SOUND_DIMS,
              shrinkage: float = LDA_SHRINKAGE, genre_weight: float = GENRE_WEIGHT) -> Space:
    """The space of labelled ``embeddings`` (n, 400) with their ``genres`` (n,)."""
    x = normalised(np.asarray(embeddings, np.float64))
    mean = x.mean(axis=0)
    centred = x - mean
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    sound = components[:sound_dims].T
    classes = np.unique(genres)
    class_means = np.stack([centred[genres == c].mean(axis=0) for c in classes])
    within = sum((d := centred[genres == c] - m).T @ d for c, m in zip(classes, class_means))
    within = within / len(x)
    within = (1 - shrinkage) * within + shrinkage * np.trace(within) / len(within) * np.eye(len(within))
    priors = np.array([(genres == c).mean() for c in classes])
    between = (class_means.T * priors) @ class_means
    _, vectors = scipy.linalg.eigh(between, within)
    genre = vectors[:, ::-1][:, :len(classes) - 1]
    return Space(mean=mean, sound=sound, genre=genre, genre_weight=genre_weight)


def save_space(space: Space, path: Path = SHIPPED_SPACE) -> Path:
    np.savez_compressed(path, mean=space.mean, sound=space.sound, genre=space.genre,
                        genre_weight=np.array(space.genre_weight))
    return path


def load_space(path: Path) -> Space:
    with np.load(path, allow_pickle=False) as data:
        return Space(mean=data["mean"], sound=data["sound"], genre=data["genre"],
                     genre_weight=float(data["genre_weight"]))


def fit_base_set_space() -> Space:
    """The space fitted on the shipped base set (``manage.py build_similar_index --fit-space`` writes it)."""
    from classifier.artefacts import SHIPPED_MODELS_DIR

    with np.load(SHIPPED_MODELS_DIR / "base-set.npz", allow_pickle=False) as data:
        features, lengths, genres = data["features"], data["lengths"], data["genres"]
    song_of_frame = np.repeat(np.arange(len(lengths)), lengths)
    sums = np.zeros((len(lengths), EMBEDDING_DIM))
    np.add.at(sums, song_of_frame, features[:, :EMBEDDING_DIM].astype(np.float64))
    return fit_space(sums / lengths[:, None], genres)


@lru_cache(maxsize=1)
def library_space() -> Space:
    """The space SKYBEAT uses: the shipped fit (:func:`fit_base_set_space`), loaded in milliseconds."""
    return load_space(SHIPPED_SPACE)
