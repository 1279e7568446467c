"""Similar songs: how good the neighbours are on real music, and how fast the search is at a million songs.

    .venv/bin/python bench/similar.py                        # both parts
    .venv/bin/python bench/similar.py --quality              # only precision@5 on the GTZAN sets
    .venv/bin/python bench/similar.py --speed --sizes 100000  # only latency / recall / build / memory

Quality: leave-one-out over ../shared/data/genre-train (479 excerpts, the shipped base set's cached features) plus
genre-dev (18 clips, embedded here by the musicnn backbones as classification does). For each song, the share of its
5 nearest other songs that have its genre (precision@5), for: random neighbours; the classifier's genre vector
(in-sample for genre-train, whose excerpts trained it: optimistic); the centred mean embedding (cosine); and
SKYBEAT's similarity space (similar/space.py), re-fitted without the query song for every genre-train query (dev
songs are never in the fit).

Speed: synthetic unit vectors in the space's dimension (clustered), exact numpy search against the faiss IVF index
SKYBEAT builds (similar.index.build_ann), and Spotify's voyager HNSW index when installed (up to --voyager-max
songs: its build is the slow part): one query at a time, one thread, p50/p99 latency, recall@10 against exact
search, build time and memory.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.machine import describe_cpu  # noqa: E402
from classifier.datasets import folder_dataset  # noqa: E402
from classifier.artefacts import SHIPPED_MODELS_DIR  # noqa: E402
from similar.index import build_ann, lists_for, probes_for  # noqa: E402
from similar.space import EMBEDDING_DIM, fit_space, library_space, normalised  # noqa: E402

DEFAULT_MODEL_DIR = SHIPPED_MODELS_DIR / "genre-crnn-gtzan"
K = 5
QUERIES = 1000
EXACT_TIMED = 100  # exact searches timed (the recall's truth covers every query)


# --- Quality -------------------------------------------------------------------------------------------------------


def songs(train: Path, dev: Path):
    """(features per song (n, 500), genres, is_dev) of genre-train (base set) and genre-dev (embedded now)."""
    from classifier.features import song_frames
    from classifier.fusion_training import base_set_songs
    from classifier.genre_model import fusion_frame_features
    from classifier.model_store import load_genre_model

    model = load_genre_model(DEFAULT_MODEL_DIR)
    base = base_set_songs()
    train_keys = {clip.key for clip in folder_dataset(train)}
    assert train_keys == {song.clip.key for song in base}, "the base set is not genre-train"
    features = [song.frames for song in base]
    genres = [song.clip.genre for song in base]
    for clip in folder_dataset(dev):
        features.append(fusion_frame_features(song_frames(clip.path, model.settings).frames))
        genres.append(clip.genre)
    is_dev = np.arange(len(features)) >= len(base)
    return model, features, np.array(genres), is_dev


def genre_vectors(model, features: list[np.ndarray]) -> np.ndarray:
    return np.array([model.feature_probs(song).mean(axis=0) for song in features])


def precision(similarity: np.ndarray, genres: np.ndarray, rows: np.ndarray) -> float:
    """precision@K of the queries ``rows`` given a (queries, songs) similarity (self excluded by the caller)."""
    nearest = np.argsort(-similarity, axis=1)[:, :K]
    return float((genres[nearest] == genres[rows][:, None]).mean())


def cosine_loo(vectors: np.ndarray, genres: np.ndarray) -> float:
    x = normalised(vectors)
    similarity = x @ x.T
    np.fill_diagonal(similarity, -np.inf)
    return precision(similarity, genres, np.arange(len(x)))


def space_loo(embeddings: np.ndarray, genres: np.ndarray, is_dev: np.ndarray) -> tuple[float, float]:
    """precision@5 of SKYBEAT's space: genre-train queries with the space fitted without them, dev queries with the
    space fitted on all of genre-train. Returns (all songs, dev songs only)."""
    train = np.flatnonzero(~is_dev)
    hits = np.zeros(len(genres))
    for query in range(len(genres)):
        fit_rows = train[train != query]
        space = fit_space(embeddings[fit_rows], genres[fit_rows])
        x = space.project(embeddings)
        similarity = x @ x[query]
        similarity[query] = -np.inf
        hits[query] = precision(similarity[None], genres, np.array([query]))
    return float(hits.mean()), float(hits[is_dev].mean())


def quality(train: Path, dev: Path) -> list[tuple[str, str]]:
    model, features, genres, is_dev = songs(train, dev)
    embeddings = normalised(np.stack([f[:, :EMBEDDING_DIM].mean(axis=0) for f in features]))
    rng = np.random.default_rng(0)
    random = np.mean([precision(rng.random((1, len(genres))) - np.eye(len(genres))[i] * 9, genres, np.array([i]))
                      for i in range(len(genres))])
    started = time.perf_counter()
    with threadpool_limits(1):  # 497 small fits: BLAS threads only fight over the cores
        ours, ours_dev = space_loo(embeddings, genres, is_dev)
    loo_s = time.perf_counter() - started
    n, n_dev = len(genres), int(is_dev.sum())
    return [
        ("songs (genre-train + genre-dev)", f"{n - n_dev} + {n_dev}"),
        ("precision@5 random neighbours", f"{random:.3f}"),
        ("precision@5 genre vector only (in-sample on genre-train)", f"{cosine_loo(genre_vectors(model, features), genres):.3f}"),
        ("precision@5 mean embedding, centred cosine", f"{cosine_loo(embeddings - embeddings[~is_dev].mean(0), genres):.3f}"),
        ("precision@5 SKYBEAT space (leave-one-out fit)", f"{ours:.3f}"),
        (f"  of which the {n_dev} genre-dev queries", f"{ours_dev:.3f}"),
        ("leave-one-out time", f"{loo_s:.0f} s"),
    ]


# --- Speed ---------------------------------------------------------------------------------------------------------


def synthetic(n: int, dims: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around n/200 random centres, spread so that clusters overlap."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 200), dims)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)]
    vectors += 0.8 * rng.standard_normal((n, dims), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def latencies(search, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per query: wall-clock ms, CPU ms of this thread (the wall time minus what other processes took), results."""
    wall, cpu_ms, found = [], [], []
    for query in queries:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found.append(search(query))
        wall.append(time.perf_counter() - started)
        cpu_ms.append(time.thread_time() - started_cpu)
    return np.array(wall) * 1e3, np.array(cpu_ms) * 1e3, found


def timing(wall: np.ndarray, cpu_ms: np.ndarray) -> str:
    return (f"p50 {np.median(wall):.2f} ms, p99 {np.percentile(wall, 99):.2f} ms "
            f"(this thread's CPU p99 {np.percentile(cpu_ms, 99):.2f} ms)")


def exact_top(vectors: np.ndarray):
    def search(query: np.ndarray) -> np.ndarray:
        return np.argpartition(-(vectors @ query), 10)[:10]
    return search


def recall(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / 10 for f, t in zip(found, truth)]))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def speed(n: int, dims: int, voyager_max: int) -> list[tuple[str, str]]:
    import faiss

    faiss.omp_set_num_threads(1)
    vectors = synthetic(n, dims)
    queries = vectors[np.random.default_rng(1).choice(n, QUERIES, replace=False)]
    exact_ms, exact_cpu, _ = latencies(exact_top(vectors), queries[:EXACT_TIMED])
    truth = [top for start in range(0, QUERIES, 100) for top in np.argsort(-(queries[start:start + 100] @ vectors.T),
                                                                              axis=1)[:, :10]]
    rows = [(f"{n:,} songs, {dims}-d: exact numpy", f"{timing(exact_ms, exact_cpu)}, {vectors.nbytes / 1e6:.0f} MB")]
    before = rss_mb()
    started = time.perf_counter()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index = build_ann(np.arange(n, dtype=np.int64), vectors)
    faiss.omp_set_num_threads(1)
    build_s, memory = time.perf_counter() - started, rss_mb() - before
    for probes in sorted({16, 32, probes_for(lists_for(n))}):
        index.nprobe = probes
        ms, cpu_ms, found = latencies(lambda q: index.search(q[None], 10)[1][0], queries)
        chosen = " (SKYBEAT)" if probes == probes_for(lists_for(n)) else ""
        rows.append((f"  faiss IVF-Flat, {index.nlist} lists, nprobe {probes}{chosen}",
                     f"{timing(ms, cpu_ms)}, recall@10 {recall(found, truth):.3f}, "
                     f"{np.median(exact_ms) / np.median(ms):.0f}x faster than exact"))
    size = len(faiss.serialize_index(index)) / 1e6
    rows.append(("  faiss build / stored size / memory", f"{build_s:.1f} s, {size:.0f} MB, +{memory:.0f} MB RSS"))
    del index
    rows += voyager_rows(vectors, queries, truth, exact_ms) if n <= voyager_max else [
        ("  voyager HNSW", f"not built above --voyager-max {voyager_max:,}")]
    return rows


def voyager_rows(vectors: np.ndarray, queries: np.ndarray, truth, exact_ms: np.ndarray) -> list[tuple[str, str]]:
    try:
        import voyager
    except ImportError:
        return [("  voyager HNSW", "not installed")]
    before = rss_mb()
    started = time.perf_counter()
    index = voyager.Index(voyager.Space.InnerProduct, vectors.shape[1], M=12, ef_construction=100)
    index.add_items(vectors, np.arange(len(vectors)), num_threads=os.cpu_count() or 1)
    build_s, memory = time.perf_counter() - started, rss_mb() - before
    rows = []
    for ef in (50, 100):
        ms, cpu_ms, found = latencies(lambda q: index.query(q, k=10, query_ef=ef, num_threads=1)[0].astype(np.int64),
                                      queries)
        rows.append((f"  voyager HNSW M 12, ef {ef}", f"{timing(ms, cpu_ms)}, recall@10 {recall(found, truth):.3f}, "
                     f"{np.median(exact_ms) / np.median(ms):.0f}x faster than exact"))
    rows.append(("  voyager build / stored size / memory", f"{build_s:.1f} s, {len(index.as_bytes()) / 1e6:.0f} MB, "
                 f"+{memory:.0f} MB RSS"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="store_true", help="Only the precision@5 part")
    parser.add_argument("--speed", action="store_true", help="Only the speed part")
    parser.add_argument("--train", type=Path, default=BASE_DIR.parent / "shared" / "data" / "genre-train")
    parser.add_argument("--dev", type=Path, default=BASE_DIR.parent / "shared" / "data" / "genre-dev")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--voyager-max", type=int, default=100_000, help="Largest size voyager is built for")
    args = parser.parse_args()
    both = not (args.quality or args.speed)
    rows = [("CPU", describe_cpu())]
    if args.quality or both:
        rows += quality(args.train, args.dev)
    if args.speed or both:
        for n in args.sizes:
            rows += speed(n, library_space().dims, args.voyager_max)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
