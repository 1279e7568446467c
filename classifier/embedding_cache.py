"""On-disk cache of a frozen backbone's frame embeddings, so re-training a head does not re-run the CNN.

An entry is keyed by the audio's SHA-256, the backbone's exact weights (``backbones.backbone_version``) and
the frame settings: change any of them and the entry is simply not found. Entries are ``.npy`` files written
atomically (temporary file + rename), so a crash never leaves a half-written entry that looks valid.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from django.conf import settings

logger = logging.getLogger(__name__)


def settings_fingerprint(frame_settings: Mapping) -> str:
    """A short stable hash of the frame settings (JSON-able mapping, e.g. ``dataclasses.asdict(settings)``)."""
    text = json.dumps(dict(frame_settings), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def default_root() -> Path:
    """settings.SKYBEAT_EMBEDDING_CACHE_DIR (var/embeddings unless set)."""
    return Path(settings.SKYBEAT_EMBEDDING_CACHE_DIR)


class EmbeddingCache:
    """Frame embeddings of songs under one backbone version and one set of frame settings.

    ``hits`` and ``misses`` count lookups since the cache object was made.
    """

    def __init__(self, backbone_version: str, frame_settings: Mapping, root: Path | None = None) -> None:
        self.folder = (root or default_root()) / backbone_version / settings_fingerprint(frame_settings)
        self.hits = 0
        self.misses = 0

    def path_for(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.npy"

    def get(self, sha256: str) -> np.ndarray | None:
        path = self.path_for(sha256)
        try:
            return np.load(path, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:  # unreadable or truncated: recompute and overwrite
            logger.warning("ignoring unreadable embedding cache entry %s: %s", path, exc)
            return None

    def put(self, sha256: str, embeddings: np.ndarray) -> None:
        path = self.path_for(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
        try:
            with os.fdopen(fd, "wb") as handle:
                np.save(handle, np.asarray(embeddings, dtype=np.float32), allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_or_compute(self, sha256: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached embeddings of the audio ``sha256``, computing and storing them on a miss."""
        cached = self.get(sha256)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        embeddings = np.asarray(compute(), dtype=np.float32)
        self.put(sha256, embeddings)
        return embeddings

    @property
    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses}
