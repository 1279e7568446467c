"""Nearest neighbours among the library's audio embeddings, in every web process.

Below ``SKYBEAT_SIMILAR_ANN_FROM`` embeddings the search is exact (numpy, one matrix product). Above, a faiss
IVF-Flat index (inner product on unit vectors) is built by :func:`build_index` (the periodic task, or
``manage.py build_similar_index``) and stored through the storage API; each process loads the newest build and
searches exactly, and merges, the embeddings written after its watermark. Results are audio ids, unfiltered:
callers keep what the viewer may see (similar.services over-fetches for that).
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from classifier.models import AudioEmbedding

from .models import IndexBuild
from .space import EMBEDDING_DIM, library_space

logger = logging.getLogger(__name__)

#: Embeddings re-read before the last one seen: transactions that commit out of their timestamps' order.
COMMIT_SLACK = timedelta(minutes=2)
READ_CHUNK = 20_000


def ann_from() -> int:
    return settings.SKYBEAT_SIMILAR_ANN_FROM


def lists_for(items: int) -> int:
    """IVF lists for ``items`` vectors: about 4·√n (faiss's guideline), with 40 vectors or more to train each."""
    return max(1, min(int(4 * math.sqrt(items)), items // 40))


def probes_for(lists: int) -> int:
    """Lists searched per query: enough for recall@10 ≥ 0.95 at 1M songs (bench/similar.py)."""
    return min(lists, max(settings.SKYBEAT_SIMILAR_PROBES, lists // 64))


def read_embeddings(rows) -> tuple[np.ndarray, np.ndarray]:
    """(audio ids, projected vectors) of (audio_id, vector bytes) rows; vectors of another size are skipped."""
    space = library_space()
    ids, vectors = [], []
    for audio_id, vector in rows:
        if len(vector) == EMBEDDING_DIM * 2:
            ids.append(audio_id)
            vectors.append(AudioEmbedding.decode(vector))
    if not ids:
        return np.empty(0, np.int64), np.empty((0, space.dims), np.float32)
    return np.asarray(ids, np.int64), space.project(np.stack(vectors))


def vectors_of(audio_ids) -> dict[int, np.ndarray]:
    """The projected vectors of these audios (those with an embedding)."""
    ids, vectors = read_embeddings(AudioEmbedding.objects.filter(audio_id__in=list(audio_ids))
                                   .values_list("audio_id", "vector"))
    return dict(zip(ids.tolist(), vectors))


# --- Building ----------------------------------------------------------------------------------------------------


def build_ann(ids: np.ndarray, vectors: np.ndarray, seed: int = 0):
    """A trained faiss IVF-Flat inner-product index of ``vectors`` under ``ids``."""
    import faiss

    lists = lists_for(len(ids))
    quantizer = faiss.IndexFlatIP(vectors.shape[1])
    index = faiss.IndexIVFFlat(quantizer, vectors.shape[1], lists, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(seed).permutation(len(vectors))[:40 * lists]
    index.train(np.ascontiguousarray(vectors[sample]))
    index.add_with_ids(np.ascontiguousarray(vectors), ids)
    index.nprobe = probes_for(lists)
    return index


def build_index() -> IndexBuild | None:
    """Build and store the index of every embedding, replacing older builds; None (and no build) below the
    exact-search threshold."""
    import faiss

    watermark = timezone.now() - COMMIT_SLACK
    rows = AudioEmbedding.objects.order_by().values_list("audio_id", "vector").iterator(chunk_size=READ_CHUNK)
    ids, vectors = read_embeddings(rows)
    old = list(IndexBuild.objects.all())
    if len(ids) < ann_from():
        _delete(old)
        return None
    index = build_ann(ids, vectors)
    data = faiss.serialize_index(index).tobytes()
    build = IndexBuild(space=library_space().fingerprint, items=len(ids), watermark=watermark)
    build.file.save(f"index-{len(ids)}.faiss", ContentFile(data), save=False)
    build.save()
    _delete(old)
    logger.info("Similarity index %s: %d songs, %d lists, %.1f MB", build.pk, len(ids), index.nlist, len(data) / 1e6)
    return build


def _delete(builds: list[IndexBuild]) -> None:
    for build in builds:
        name, storage = build.file.name, build.file.storage
        build.delete()
        transaction.on_commit(lambda name=name, storage=storage: storage.delete(name))


def needs_rebuild() -> bool:
    """Whether the library crossed the threshold either way, or the newest build lags: more than
    ``SKYBEAT_SIMILAR_STALE_SHARE`` of the embeddings written since it, or deleted since."""
    total = AudioEmbedding.objects.count()
    build = IndexBuild.objects.first()
    if build is None or build.space != library_space().fingerprint:
        return total >= ann_from() or build is not None
    if total < ann_from():
        return True
    fresh = AudioEmbedding.objects.filter(updated_at__gt=build.created_at).count()
    deleted = max(0, build.items + fresh - total)
    return fresh + deleted > settings.SKYBEAT_SIMILAR_STALE_SHARE * total


# --- Searching ---------------------------------------------------------------------------------------------------


@dataclass
class Searcher:
    """This process's view of the index: the newest build (if any) and the embeddings written after it."""

    build_id: int | None = None
    ann: object | None = None
    seen_until: object | None = None  # updated_at of the newest embedding read, for the next refresh
    ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    vectors: np.ndarray = field(default_factory=lambda: np.empty((0, library_space().dims), np.float32))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Load a newer build, and the embeddings written since the last refresh (two small queries)."""
        build = IndexBuild.objects.filter(space=library_space().fingerprint).only("pk", "file", "watermark").first()
        build_id = build.pk if build else None
        with self.lock:
            if build_id != self.build_id:
                self.ann = _load(build) if build else None
                self.build_id, self.seen_until = build_id, build.watermark if build else None
                self.ids, self.vectors = Searcher().ids, Searcher().vectors
            rows = AudioEmbedding.objects.order_by()
            if self.seen_until is not None:
                rows = rows.filter(updated_at__gt=self.seen_until - COMMIT_SLACK)
            rows = list(rows.values_list("audio_id", "vector", "updated_at"))
            if rows:
                self.seen_until = max(self.seen_until or rows[0][2], *(row[2] for row in rows))
                ids, vectors = read_embeddings((audio_id, vector) for audio_id, vector, _ in rows)
                keep = ~np.isin(self.ids, ids)
                self.ids = np.concatenate([self.ids[keep], ids])
                self.vectors = np.concatenate([self.vectors[keep], vectors])

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest audio ids to a projected ``query`` vector, nearest first, with their similarity."""
        query = np.asarray(query, np.float32)
        with self.lock:
            ann, ids, vectors = self.ann, self.ids, self.vectors
        found: dict[int, float] = {}
        if len(ids):
            scores = vectors @ query
            top = np.argpartition(-scores, k - 1)[:k] if len(ids) > k else np.arange(len(ids))
            found = {int(ids[i]): float(scores[i]) for i in top}
        if ann is not None:
            scores, hits = ann.search(query[None], k)
            current = (hits[0] >= 0) & ~np.isin(hits[0], ids)  # written since the build: the exact part has it
            found.update(zip(hits[0][current].tolist(), scores[0][current].tolist()))
        return sorted(found.items(), key=lambda item: (-item[1], item[0]))[:k]


def _load(build: IndexBuild):
    import faiss

    faiss.omp_set_num_threads(1)  # one query at a time per request: threads only add overhead
    with build.file.open("rb") as handle:
        index = faiss.deserialize_index(np.frombuffer(handle.read(), np.uint8))
    index.nprobe = probes_for(index.nlist)
    logger.info("Loaded similarity index %s (%d songs)", build.pk, index.ntotal)
    return index


_searcher: Searcher | None = None
_searcher_lock = threading.Lock()


def searcher() -> Searcher:
    """This process's searcher, refreshed."""
    global _searcher
    with _searcher_lock:
        if _searcher is None:
            _searcher = Searcher()
    _searcher.refresh()
    return _searcher
