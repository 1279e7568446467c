"""Where a model's files live: complete versions of an artefact directory, made live by one atomic switch.

An artefact directory (``SKYBEAT_MODELS_DIR/<artefact_path>``) holds versions ``v-<ns>-<id>/`` and ``CURRENT``, a
small file naming the live one. A save writes a whole new version beside the live one, then renames a temporary
file over ``CURRENT``: a loader that reads ``CURRENT`` once sees one complete version, the old or the new, never
a missing directory or a mix. A version replaced more than KEEP_REPLACED_S ago is removed at the next switch (a
loader may still be reading a recently replaced one). A directory without ``CURRENT`` (the models shipped in the
source tree, artefacts saved before versions existed) is its own live version.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .models import ModelVersion

CURRENT = "CURRENT"
VERSION_PREFIX = "v-"
STAGING_PREFIX = ".staging-"
KEEP_REPLACED_S = 600  # far longer than a worker takes to read a model's files
#: Models that come with SKYBEAT (re-created by ``manage.py build_default_model``), one folder per artefact path.
SHIPPED_MODELS_DIR = Path(__file__).resolve().parent / "shipped"


def artefact_dir(version: ModelVersion) -> Path:
    """The model version's artefact directory, of complete versions of its files."""
    return Path(settings.SKYBEAT_MODELS_DIR) / version.artefact_path


def shipped_manifest(version: ModelVersion) -> Path | None:
    """The manifest of the model SKYBEAT ships as ``version`` (in SHIPPED_MODELS_DIR), or None: one trained here."""
    from .genre_model import MANIFEST  # numpy and the audio stack, only when asked

    path = SHIPPED_MODELS_DIR / version.artefact_path / MANIFEST
    return path if version.artefact_path and path.is_file() else None


def live_artefact_dir(version: ModelVersion) -> Path:
    """The folder of the model version's live files."""
    return live_dir(artefact_dir(version))


def live_dir(directory: str | Path) -> Path:
    """The directory holding ``directory``'s live files: the version ``CURRENT`` names, else ``directory``."""
    directory = Path(directory)
    try:
        name = (directory / CURRENT).read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        return directory
    return directory / Path(name).name  # a bare name: never a path out of the directory


def save_version(directory: str | Path, write: Callable[[Path], object]) -> Path:
    """Have ``write`` fill a fresh empty folder, then make it ``directory``'s live version; returns the version.

    Writers may race (several workers installing the same model): each version is complete, the last switch wins.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=directory))
    try:
        write(staging)
        with _locked(directory):
            version = directory / f"{VERSION_PREFIX}{time.time_ns()}-{staging.name.removeprefix(STAGING_PREFIX)}"
            os.rename(staging, version)
            _point(directory, version.name)
            _prune(directory, version)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return version


def _prune(directory: Path, live: Path) -> None:
    """Remove the versions replaced more than KEEP_REPLACED_S ago: each was replaced when the next one was made."""
    made_ns = {path: int(path.name.split("-")[1]) for path in directory.glob(f"{VERSION_PREFIX}*-*")}
    versions = sorted(made_ns, key=made_ns.get)
    for old, successor in zip(versions, versions[1:]):
        if old != live and time.time_ns() - made_ns[successor] > KEEP_REPLACED_S * 10**9:
            shutil.rmtree(old, ignore_errors=True)


def _point(directory: Path, name: str) -> None:
    """Make ``CURRENT`` name ``name`` in one rename."""
    handle, temporary = tempfile.mkstemp(prefix=f".{CURRENT}.", dir=directory)
    with os.fdopen(handle, "w") as pointer:
        pointer.write(name)
    os.replace(temporary, directory / CURRENT)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Serialise switches and pruning, so that no writer removes a version another one is making live."""
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
