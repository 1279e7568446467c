"""Training data without TensorFlow: grouped folds and the frame sequences the CRNN head learns from."""

import subprocess
import sys

import numpy as np
from django.conf import settings

from classifier.datasets import LabelledClip, folder_dataset, frame_sequences, song_folds
from tests.audio_fixtures import synthetic_genre_clip, write_audio


def clips(per_genre: dict[str, int]) -> list[LabelledClip]:
    return [LabelledClip(f"{genre}-{i}", genre) for genre, n in per_genre.items() for i in range(n)]


def test_folds_are_disjoint_whole_songs_with_each_genre_spread_evenly():
    data = clips({"blues": 12, "rock": 11, "jazz": 5})
    folds = song_folds(data, 5, seed=3)
    keys = [clip.key for fold in folds for clip in fold]
    assert sorted(keys) == sorted(c.key for c in data)
    for genre, n in {"blues": 12, "rock": 11, "jazz": 5}.items():
        counts = [sum(c.genre == genre for c in fold) for fold in folds]
        assert max(counts) - min(counts) <= 1 and sum(counts) == n
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    assert [c.key for c in song_folds(data, 5, seed=3)[0]] == [c.key for c in folds[0]]  # reproducible


def test_sequences_are_shaped_like_songs_and_balanced_over_genres():
    rng = np.random.default_rng(0)
    excerpts = [np.full((1, 4), i, np.float32) for i in range(30)]  # one-frame excerpts
    long_song = np.arange(50, dtype=np.float32)[:, None].repeat(4, axis=1)  # one 50-frame song
    songs, genres = excerpts + [long_song], [i % 3 for i in range(30)] + [3]
    sequences, targets = frame_sequences(songs, genres, 400, 24, rng)
    lengths = [len(s) for s in sequences]
    assert min(lengths) == 1 and max(lengths) == 24 and np.bincount(targets).tolist() == [100] * 4
    for sequence, genre in zip(sequences, targets):
        if genre == 3:  # a window of consecutive frames of the long song
            assert np.all(np.diff(sequence[:, 0]) == 1)
        else:  # excerpts of the sequence's own genre only
            assert all(int(v) % 3 == genre for v in sequence[:, 0])


def test_gtzan_folder_names_become_genre_slugs(tmp_path):
    for folder in ("hiphop", "rock"):
        for seed in range(2):
            audio = synthetic_genre_clip("pulse", 3.0, 16000, seed=seed + (10 if folder == "rock" else 0))
            (tmp_path / folder).mkdir(exist_ok=True)
            write_audio(tmp_path / folder / f"{folder}.{seed:05d}.wav", audio, 16000)
    assert {clip.genre for clip in folder_dataset(tmp_path)} == {"hip-hop", "rock"}


def test_splitting_needs_no_tensorflow():
    code = ("import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'skybeat.settings'); import django; "
            "django.setup(); import classifier.datasets, classifier.fusion; "
            "sys.exit(1 if 'tensorflow' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR)
    assert result.returncode == 0, result.stderr
