"""The by-song split (property over seeds), labelled-folder datasets, and the embedding cache's storage."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from classifier.embedding_cache import EmbeddingCache
from classifier.datasets import LabelledClip, TrainingError, folder_dataset, split_by_song

pytestmark = pytest.mark.unit


def clips_from(counts: list[int], duplicates: int) -> list[LabelledClip]:
    """Songs per genre; the first ``duplicates`` songs also appear as a second clip with the same audio."""
    clips = []
    for g, n in enumerate(counts):
        for i in range(n):
            clips.append(LabelledClip(key=f"{g}-{i}", path=Path(f"/x/g{g}/{i}.wav"), genre=f"g{g}"))
    clips += [LabelledClip(c.key, c.genre, path=c.path.with_suffix(".flac")) for c in clips[:duplicates]]
    return clips


@hypothesis_settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(1, 25), min_size=2, max_size=6),
    duplicates=st.integers(0, 5),
    fraction=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_never_puts_one_song_on_both_sides(counts, duplicates, fraction, seed):
    clips = clips_from(counts, duplicates)
    train, val = split_by_song(clips, fraction, seed)
    assert not {c.key for c in train} & {c.key for c in val}
    assert sorted(map(str, (c.path for c in train + val))) == sorted(map(str, (c.path for c in clips)))
    per_genre = Counter(c.genre for c in clips if c.path.suffix == ".wav")
    for genre, n in per_genre.items():
        if n >= 2:  # stratified: each genre on both sides
            assert any(c.genre == genre for c in train) and any(c.genre == genre for c in val)
    assert split_by_song(list(reversed(clips)), fraction, seed) == (train, val)


def test_split_refuses_a_nonsense_fraction():
    with pytest.raises(TrainingError, match="between 0 and 1"):
        split_by_song(clips_from([3, 3], 0), 1.0, 0)


def test_folder_dataset_reads_the_gtzan_layout(tmp_path):
    for genre, n in (("blues", 3), ("metal", 2)):
        (tmp_path / genre).mkdir()
        for i in range(n):
            (tmp_path / genre / f"{genre}.{i:05d}.wav").write_bytes(f"{genre}{i}".encode())
    (tmp_path / "metal" / "notes.txt").write_text("not audio")
    clips = folder_dataset(tmp_path)
    assert Counter(c.genre for c in clips) == {"blues": 3, "metal": 2}
    assert all(len(c.key) == 64 and c.song_id is None for c in clips)
    assert Counter(c.genre for c in folder_dataset(tmp_path, ["blues", "metal"])) == {"blues": 3, "metal": 2}
    with pytest.raises(TrainingError, match="no folder for genre"):
        folder_dataset(tmp_path, ["jazz"])
    (tmp_path / "metal" / "metal.00001.wav").unlink()
    with pytest.raises(TrainingError, match="genre 'metal' has 1 songs, needs 2"):
        folder_dataset(tmp_path)
    with pytest.raises(TrainingError, match="is not a folder"):
        folder_dataset(tmp_path / "nowhere")


def test_embedding_cache_counts_hits_and_keys_by_backbone_and_settings(tmp_path):
    sha = "ab" * 32
    cache = EmbeddingCache("musicnn-MSD-0.1.0", {"sample_rate_hz": 16000, "hop": 256}, root=tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float64).reshape(3, 2)

    first = cache.get_or_compute(sha, compute)
    again = cache.get_or_compute(sha, compute)
    assert cache.stats == {"hits": 1, "misses": 1} and len(calls) == 1
    assert again.dtype == np.float32 and np.array_equal(first, again)
    assert not list(cache.folder.rglob(".tmp-*"))

    other_settings = EmbeddingCache("musicnn-MSD-0.1.0", {"sample_rate_hz": 22050, "hop": 256}, root=tmp_path)
    other_backbone = EmbeddingCache("musicnn-MTT-0.1.0", {"sample_rate_hz": 16000, "hop": 256}, root=tmp_path)
    assert other_settings.get(sha) is None and other_backbone.get(sha) is None

    cache.path_for(sha).write_bytes(b"truncated")  # a damaged entry is recomputed, not trusted
    assert np.array_equal(cache.get_or_compute(sha, compute), first) and len(calls) == 2
