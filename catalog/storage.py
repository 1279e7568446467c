"""Stored files for code that needs a filesystem path (decoders, ffmpeg): read through Django's storage API, so
audio may live on a storage without local paths (S3 and the like)."""

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.storage import Storage


@contextmanager
def local_file(storage: Storage, name: str) -> Iterator[Path]:
    """A filesystem path for a stored file: the file itself on local storage, else a temporary copy."""
    try:
        local = storage.path(name)
    except NotImplementedError:
        local = None
    if local is not None:
        yield Path(local)
        return
    suffix = Path(name).suffix
    with tempfile.NamedTemporaryFile(prefix="skybeat-audio-", suffix=suffix) as copy, storage.open(name, "rb") as src:
        shutil.copyfileobj(src, copy)
        copy.flush()
        yield Path(copy.name)
