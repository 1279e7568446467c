"""Labelled audio for training: folders in the GTZAN layout, the library's labels, splits by song, and the
frame sequences the CRNN head is trained on. Nothing here imports TensorFlow.

A clip is one song (or one excerpt of one song); all its frames are on one side of any split.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.core.files.storage import default_storage

from catalog.models import Genre, GenreLabel
from catalog.storage import local_file

from . import labels
from .model_store import file_sha256

AUDIO_EXTENSIONS = (".wav", ".au", ".mp3", ".ogg", ".flac")
#: Folder names of common labelled sets that differ from SKYBEAT's genre slugs (GTZAN writes "hiphop").
FOLDER_ALIASES = {"hiphop": "hip-hop"}


class TrainingError(Exception):
    """Training cannot go ahead or failed for a reason a person can act on; the message says which."""


@dataclass(frozen=True)
class LabelledClip:
    """One labelled song. ``key`` (the audio SHA-256) identifies it on either side of the split.

    ``path`` is a file of a labelled folder; library songs have ``storage_name`` (read through Django's storage
    API, so the library may live on a storage without local paths) and ``song_id``.
    """

    key: str
    genre: str
    path: Path | None = None
    storage_name: str = ""
    song_id: int | None = None

    @property
    def split_id(self) -> int | str:
        """How the model card names the song: its library id, else its file hash."""
        return self.song_id if self.song_id is not None else self.key

    @property
    def file_name(self) -> str:
        return self.path.name if self.path else Path(self.storage_name).name

    @contextmanager
    def local_path(self) -> Iterator[Path]:
        """A filesystem path of the audio for decoding (a temporary copy when the storage has no paths)."""
        if self.path is not None:
            yield self.path
        else:
            with local_file(default_storage, self.storage_name) as path:
                yield path


def folder_dataset(root: Path, genres: list[str] | None = None) -> list[LabelledClip]:
    """Clips of a labelled folder in the GTZAN layout: ``root/<genre>/*.wav|au|mp3|ogg|flac``; folder names
    are genre slugs (through FOLDER_ALIASES)."""
    root = Path(root)
    if not root.is_dir():
        raise TrainingError(f"{root} is not a folder (expected {root}/<genre>/<audio files>)")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if genres:
        unknown = sorted(set(genres) - {p.name for p in folders})
        if unknown:
            raise TrainingError(f"no folder for genre(s) {', '.join(unknown)} in {root}")
        folders = [p for p in folders if p.name in genres]
    by_key: dict[str, LabelledClip] = {}
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file():
                continue
            clip = LabelledClip(file_sha256(path), FOLDER_ALIASES.get(folder.name, folder.name), path=path)
            earlier = by_key.setdefault(clip.key, clip)
            if earlier.genre != clip.genre:
                raise TrainingError(
                    f"{earlier.path} and {path} are the same audio labelled {earlier.genre} and {clip.genre}")
    clips = list(by_key.values())
    check_counts(clips, minimum=2, source=str(root))
    return clips


def library_dataset(genre_slugs: list[str] | None = None, min_genres: int = 2) -> list[LabelledClip]:
    """Labelled songs of the library, for the requested genres or every current genre with enough labels.

    Raises TrainingError naming each requested genre that has too few labelled songs, or when fewer than
    ``min_genres`` genres qualify (a run that adds the base set needs only one).
    """
    if genre_slugs:
        found = {g.slug: g for g in Genre.objects.filter(slug__in=genre_slugs)}
        unknown = [slug for slug in genre_slugs if slug not in found]
        if unknown:
            raise TrainingError(f"unknown genre(s): {', '.join(unknown)}")
        retired = [slug for slug in genre_slugs if found[slug].retired]
        if retired:
            raise TrainingError(f"retired genre(s) cannot be trained on: {', '.join(retired)}")
        status = labels.readiness([found[slug] for slug in genre_slugs])
        problems = [item.problem for item in status if not item.ready]
        if problems:
            raise TrainingError("; ".join(problems))
    else:
        status = labels.readiness()
        ready = [item for item in status if item.ready]
        if len(ready) < min_genres:
            detail = "; ".join(item.problem for item in status if not item.ready) or "no genres exist"
            raise TrainingError(f"training needs at least {min_genres} genre(s) with enough labelled songs ({detail})")
        status = ready
    slugs = [item.genre.slug for item in status]
    if len(slugs) < min_genres:
        raise TrainingError(f"training needs at least {min_genres} genres")
    rows = GenreLabel.objects.filter(genre__slug__in=slugs).select_related("song__audio", "genre").order_by("song_id")
    clips = [LabelledClip(row.song.audio.sha256, row.genre.slug, storage_name=row.song.audio.file.name,
                          song_id=row.song_id) for row in rows]
    missing = [clip for clip in clips if not default_storage.exists(clip.storage_name)]
    if missing:
        raise TrainingError(f"the audio file of song {missing[0].song_id} is missing ({missing[0].storage_name})")
    return clips


def check_counts(clips: list[LabelledClip], minimum: int, source: str, min_genres: int = 2) -> None:
    counts = Counter(clip.genre for clip in clips)
    if len(counts) < min_genres:
        raise TrainingError(f"{source} has {len(counts)} genre(s) with audio; training needs at least {min_genres}")
    short = [f"genre '{genre}' has {n} songs, needs {minimum}" for genre, n in sorted(counts.items()) if n < minimum]
    if short:
        raise TrainingError("; ".join(short))


def _songs_by_genre(clips: list[LabelledClip]) -> tuple[dict[str, list[LabelledClip]], dict[str, list[str]]]:
    """Clips grouped by song key (clips sharing a key are one song), and each genre's song keys, sorted."""
    songs: dict[str, list[LabelledClip]] = defaultdict(list)
    for clip in sorted(clips, key=lambda c: (c.key, c.genre, str(c.path or c.storage_name))):
        songs[clip.key].append(clip)
    by_genre: dict[str, list[str]] = defaultdict(list)
    for key, same_song in songs.items():
        by_genre[same_song[0].genre].append(key)
    return songs, by_genre


def split_by_song(
    clips: list[LabelledClip], val_fraction: float, seed: int
) -> tuple[list[LabelledClip], list[LabelledClip]]:
    """(train, validation): stratified by genre, whole songs only, reproducible from ``seed``.

    Every genre with at least two songs has at least one on each side.
    """
    if not 0 < val_fraction < 1:
        raise TrainingError(f"the validation fraction must be between 0 and 1, not {val_fraction}")
    songs, by_genre = _songs_by_genre(clips)
    rng = random.Random(seed)
    train: list[LabelledClip] = []
    val: list[LabelledClip] = []
    for genre in sorted(by_genre):
        keys = by_genre[genre]
        rng.shuffle(keys)
        n_val = min(max(round(len(keys) * val_fraction), 1), len(keys) - 1) if len(keys) > 1 else 0
        for i, key in enumerate(keys):
            (val if i < n_val else train).extend(songs[key])
    return train, val


def song_folds(clips: list[LabelledClip], n_folds: int, seed: int) -> list[list[LabelledClip]]:
    """``n_folds`` disjoint folds of whole songs, each genre spread evenly over them (grouped, stratified k-fold)."""
    if n_folds < 2:
        raise TrainingError(f"cross-validation needs at least 2 folds, not {n_folds}")
    songs, by_genre = _songs_by_genre(clips)
    rng = random.Random(seed)
    folds: list[list[LabelledClip]] = [[] for _ in range(n_folds)]
    offset = 0
    for genre in sorted(by_genre):
        keys = by_genre[genre]
        rng.shuffle(keys)
        for i, key in enumerate(keys):
            folds[(offset + i) % n_folds].extend(songs[key])
        offset += len(keys)  # the next genre starts where this one ended, so fold sizes stay even
    return folds


def frame_sequences(
    songs: list[np.ndarray], song_genres: list[int], n_sequences: int, max_frames: int, rng: np.random.Generator
) -> tuple[list[np.ndarray], np.ndarray]:
    """Training sequences for the CRNN head, shaped like the songs it sees at inference.

    ``songs``: each song's per-frame features (n_i, D); ``song_genres``: its genre index. Each sequence has a
    genre drawn in turn (so genres are balanced) and a length drawn uniformly from 1 to ``max_frames`` (a library
    song has 1 to 40 frames). A song with enough frames gives a window of consecutive frames; a short one (a
    2-3 s excerpt is one frame) is joined by further songs of the same genre until the length is reached.
    Returns (sequences (L_i, D), genre index per sequence).
    """
    by_genre: dict[int, list[int]] = defaultdict(list)
    for index, genre in enumerate(song_genres):
        by_genre[genre].append(index)
    genres = sorted(by_genre)
    sequences, targets = [], np.empty(n_sequences, dtype=np.int64)
    for n in range(n_sequences):
        genre = genres[n % len(genres)]
        length = int(rng.integers(1, max_frames + 1))
        parts, have = [], 0
        while have < length:
            song = songs[by_genre[genre][rng.integers(len(by_genre[genre]))]]
            take = min(length - have, len(song))
            start = int(rng.integers(0, len(song) - take + 1))
            parts.append(song[start:start + take])
            have += take
        sequences.append(np.concatenate(parts))
        targets[n] = genre
    return sequences, targets
