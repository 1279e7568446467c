"""Whole songs as network inputs for training: one song's inputs, and batches of songs padded to one length."""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from .datasets import LabelledClip


@dataclass
class SongInputs:
    """One song's network inputs: backbone embeddings (n, D) or log-mel frames (n, 187, 96)."""

    clip: LabelledClip
    frames: np.ndarray


class SongBatches(keras.utils.PyDataset):
    """Batches of whole songs, zero-padded to ``n_frames`` (the networks mask the padding; one shape for every
    batch, so the training step is traced once), with per-song weights that balance the genres."""

    def __init__(self, songs: list[SongInputs], genres: list[str], batch_size: int, n_frames: int,
                 seed: int | None = None):
        super().__init__()
        self.songs, self.batch_size, self.n_frames = songs, batch_size, n_frames
        index = {genre: i for i, genre in enumerate(genres)}
        labels = np.array([index[song.clip.genre] for song in songs])
        self.targets = np.eye(len(genres), dtype=np.float32)[labels]
        counts = np.bincount(labels, minlength=len(genres))
        self.weights = (len(songs) / (len(genres) * counts[labels])).astype(np.float32)
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = np.arange(len(songs))
        self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(len(self.songs) / self.batch_size)

    def __getitem__(self, batch: int):
        chosen = self.order[batch * self.batch_size:(batch + 1) * self.batch_size]
        frames = pad_songs([self.songs[i].frames for i in chosen], self.n_frames)
        return frames, self.targets[chosen], self.weights[chosen]

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.rng.shuffle(self.order)


def pad_songs(frames: list[np.ndarray], n_frames: int | None = None) -> np.ndarray:
    """Songs' frames (n_i, ...) -> (songs, n_frames or max n_i, ...) with zero frames after each song's own."""
    n_frames = n_frames or max(len(f) for f in frames)
    out = np.zeros((len(frames), n_frames, *frames[0].shape[1:]), dtype=np.float32)
    for i, song in enumerate(frames):
        out[i, :len(song)] = song
    return out
