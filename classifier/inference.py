"""Classifying songs in the workers: the active model, loaded once per process, applied to a song's frames.

TensorFlow is imported only when a model is first loaded (``features`` and ``genre_model`` are imported
lazily), so the web process, which imports this module to enqueue tasks, never pays for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db import OperationalError, transaction
from django.utils import timezone

from catalog import read_cache
from catalog.models import Song
from catalog.storage import local_file
from skybeat.errors import InvalidAudio

from .artefacts import artefact_dir, live_dir, save_version, shipped_manifest
from .dispatch import start_reclassify
from .memory import release_startup_memory
from .models import ModelVersion
from .results import reuse_classification, save_classification

if TYPE_CHECKING:
    from .genre_model import GenreModel

logger = logging.getLogger(__name__)

#: Set by the worker's main process (classifier.signals) for its pool processes.
CONCURRENCY_ENV = "SKYBEAT_WORKER_CONCURRENCY"
#: Errors worth retrying: the database busy or away, shared storage hiccups.
TRANSIENT_ERRORS = (OperationalError, OSError)
#: A model that failed to load is tried again after this long (not on every song).
RELOAD_FAILED_AFTER_S = 60.0
PROBABILITY_DECIMALS = 4


class ModelUnavailable(Exception):
    """No model can classify songs in this process; the message says why."""


@dataclass(frozen=True)
class LoadedModel:
    version_id: int
    name: str
    genre_model: GenreModel


@dataclass(frozen=True)
class FileClassification:
    """A model's view of one audio file: per-frame and whole-song genre probabilities."""

    genres: list[str]
    song_probs: np.ndarray  # (G,), sums to 1
    frame_probs: np.ndarray  # (n, G)
    frame_starts_s: list[float]
    duration_s: float
    confidence_threshold: float = 0.0  # the model's: a song confidence below it is a guess
    embedding: np.ndarray | None = None  # (D,) L2-normalised mean backbone embedding, if the model has one

    @property
    def confidence(self) -> float:
        """How sure the top genre is (:func:`classifier.fusion.song_confidence`)."""
        from .fusion import song_confidence

        return song_confidence(self.frame_probs)

    @property
    def uncertain(self) -> bool:
        return self.confidence < self.confidence_threshold

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.song_probs)[:count]
        return [(self.genres[i], float(self.song_probs[i])) for i in order]

    def timeline(self) -> dict:
        frames = [
            [round(start_s, 3), [round(float(p), PROBABILITY_DECIMALS) for p in probs]]
            for start_s, probs in zip(self.frame_starts_s, self.frame_probs, strict=True)
        ]
        return {"genres": list(self.genres), "frames": frames}


# --- The model of this process ---------------------------------------------------------------------------------

_lock = threading.RLock()  # held while TensorFlow is imported or a model loaded (not thread-safe)
_loaded: LoadedModel | None = None
_failed: dict[int, tuple[float, str]] = {}  # version id -> (time.monotonic(), reason) of its last failed load
_threads_configured = False


def configure_threads() -> None:
    """Import TensorFlow with thread pools sized for this process's share of the cores (os.cpu_count() //
    worker concurrency). Under the lock: two threads importing TensorFlow at once see half-initialised modules."""
    global _threads_configured
    with _lock:
        if _threads_configured:
            return
        from .genre_model import configure_tensorflow_threads

        concurrency = max(1, int(os.environ.get(CONCURRENCY_ENV) or 1))
        threads = max(1, (os.cpu_count() or 1) // concurrency)
        configure_tensorflow_threads(threads)
        release_startup_memory()  # what importing TensorFlow touched once
        _threads_configured = True
    logger.info("TensorFlow: %d thread(s) per pool (concurrency %d, %s cores)", threads, concurrency, os.cpu_count())


def preload_in_background() -> threading.Thread:
    """Load the active model in a thread (pool processes must report ready within seconds)."""
    thread = threading.Thread(target=_preload, name="skybeat-model-preload", daemon=True)
    thread.start()
    return thread


def _preload() -> None:
    from django.db import connection

    try:
        current_model()
    except ModelUnavailable as exc:
        logger.warning("No model preloaded: %s", exc)
    except Exception:  # the first task will try again and report the problem on its song
        logger.exception("Preloading the active model failed")
    finally:
        connection.close()


def current_model() -> LoadedModel:
    """The active model, loaded once per process and again only when another version becomes active.

    A version that fails to load gets its ``load_error`` recorded; the process then keeps the model it had.
    """
    global _loaded
    active_id = ModelVersion.objects.filter(active=True).values_list("pk", flat=True).first()
    with _lock:
        if _loaded is not None and _loaded.version_id == active_id:
            return _loaded
        if active_id is None:
            raise ModelUnavailable("no model is active")
        version = ModelVersion.objects.get(pk=active_id)
        failed_at, reason = _failed.get(version.pk, (None, ""))
        if failed_at is not None and time.monotonic() - failed_at < RELOAD_FAILED_AFTER_S:
            return _fallback(version, reason)
        try:
            genre_model = load_version(version)
        except Exception as exc:  # whatever stops a model loading makes it unusable: record it, never crash
            reason = str(exc) or exc.__class__.__name__
            _failed[version.pk] = (time.monotonic(), reason)
            logger.error("Could not load model %s: %s", version.name, reason)
            ModelVersion.objects.filter(pk=version.pk).update(load_error=reason)
            return _fallback(version, reason)
        _failed.pop(version.pk, None)
        if version.load_error:
            ModelVersion.objects.filter(pk=version.pk).update(load_error="")
        try:
            reclassify_if_rebuilt(version)
        except Exception:  # the library is classified again on the next start; this song must not wait for it
            logger.exception("Could not start reclassifying the songs of the rebuilt model %s", version.name)
        _loaded = LoadedModel(version_id=version.pk, name=version.name, genre_model=genre_model)
        logger.info("Loaded model %s (%d genres)", version.name, len(genre_model.genres))
        return _loaded


def _fallback(version: ModelVersion, reason: str) -> LoadedModel:
    if _loaded is None:
        raise ModelUnavailable(f"{version.name}: {reason}")
    logger.warning("Model %s is unusable (%s); still using %s", version.name, reason, _loaded.name)
    return _loaded


def load_version(version: ModelVersion) -> GenreModel:
    """Load ``version``'s files (writing the pretrained-tags artefact first if it was never written)."""
    from .genre_model import MANIFEST, build_pretrained_tags_model
    from .model_store import load_genre_model, save_genre_model

    configure_threads()
    directory = artefact_dir(version)
    installed = live_dir(directory) / MANIFEST
    if shipped_manifest_path := shipped_manifest(version):
        # A model that comes with SKYBEAT: installed from the source tree, again when an upgrade rebuilt it.
        shipped = shipped_manifest_path.parent
        if not (installed.is_file() and installed.read_bytes() == shipped_manifest_path.read_bytes()):
            install_shipped_model(shipped, directory)
            logger.info("Installed the shipped model %s in %s", version.name, directory)
        adopt_shipped_metrics(version, shipped)
    elif not installed.exists() and version.architecture == ModelVersion.Architecture.PRETRAINED_TAGS:
        # Derived from the installed musicnn package only: safe to (re)create; several workers may race here.
        save_genre_model(build_pretrained_tags_model(), directory)
        logger.info("Wrote the pretrained-tags model to %s", directory)
    genre_model = load_genre_model(directory)
    if genre_model.genres != version.genres or genre_model.settings.to_dict() != version.feature_params:
        logger.warning("Model %s: its database row disagreed with its files; the files win", version.name)
        ModelVersion.objects.filter(pk=version.pk).update(
            genres=genre_model.genres, feature_params=genre_model.settings.to_dict()
        )
    warm_up(genre_model)
    release_startup_memory()  # what loading and tracing left behind
    return genre_model


def install_shipped_model(shipped: Path, directory: Path) -> None:
    """Copy a shipped artefact (model files, card and pictures) into the artefact directory ``directory`` as its
    live version; workers racing here each install a complete copy."""
    save_version(directory, lambda version: shutil.copytree(shipped, version, dirs_exist_ok=True))


def adopt_shipped_metrics(version: ModelVersion, shipped: Path) -> None:
    """The row takes the cross-validated metrics of the shipped model's card: the migration that registered it
    carries those of the build it shipped with, and an upgrade may ship a rebuilt model."""
    import json

    from .model_cards import CARD_FILE

    metrics = {**version.metrics, **json.loads((shipped / CARD_FILE).read_text())["metrics"]}
    if metrics != version.metrics:
        ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
        version.metrics = metrics


def reclassify_if_rebuilt(version: ModelVersion) -> None:
    """When the active model is one SKYBEAT ships and an upgrade rebuilt it, the songs it classified are classified
    again (their genres and audio embeddings came from the old build). The row records the build it was last
    loaded as, so only the first process to load the new build (of any that race here) starts the job."""
    manifest = shipped_manifest(version)
    if manifest is None:
        return
    build = hashlib.sha256(manifest.read_bytes()).hexdigest()
    songs = Song.objects.filter(classification__model_version=version)
    with transaction.atomic():  # the build is recorded only with its job, so a failed start is tried again
        if ModelVersion.objects.filter(pk=version.pk).exclude(shipped_build=build).update(shipped_build=build) \
                and songs.exists():
            job = start_reclassify(version, songs)
            logger.info("The shipped model %s was rebuilt: reclassifying its %d songs (job %d)", version.name,
                        job.total, job.pk)


def warm_up(genre_model: GenreModel) -> None:
    """Trace the model's TensorFlow functions now (seconds), at load, rather than on a listener's first song."""
    frame = genre_model.settings
    noise = np.random.default_rng(0).random((1, frame.frame_length, frame.n_mels), dtype=np.float32)
    genre_model.predict(noise)


# --- Classifying -----------------------------------------------------------------------------------------------


def classify_file(path: str | Path, genre_model: GenreModel) -> FileClassification:
    """Run all frames of one file through the model as one batch. Raises InvalidAudio for unusable audio."""
    from .features import song_frames

    frames = song_frames(path, genre_model.settings)
    frame_probs, song_probs, embedding = genre_model.predict_with_embedding(frames.frames)
    song_probs = np.asarray(song_probs, dtype=np.float64)
    return FileClassification(
        genres=list(genre_model.genres),
        song_probs=song_probs / song_probs.sum(),
        frame_probs=np.asarray(frame_probs, dtype=np.float64),
        frame_starts_s=[float(s) for s in frames.starts_s],
        duration_s=float(frames.duration_s),
        confidence_threshold=genre_model.confidence_threshold,
        embedding=embedding,
    )


def classify_song(song_id: int) -> Song | None:
    """Classify a song with the active model and store the result; idempotent.

    Ends with the song ``classified`` or ``failed`` (with a readable reason); a song deleted meanwhile is
    skipped quietly (None). Transient errors (TRANSIENT_ERRORS) propagate for the task to retry.
    """
    if not _set_status(song_id, Song.Status.PROCESSING):
        logger.info("Song %s no longer exists; nothing to classify", song_id)
        return None
    song = Song.objects.filter(pk=song_id).first()
    if song is None:
        return None
    try:
        loaded = current_model()
    except ModelUnavailable as exc:
        return mark_failed(song_id, f"No usable model: {exc}")
    reused = reuse_classification(song_id, loaded.version_id)  # identical bytes already classified by this model
    if reused is not None:
        return reused
    storage, name = song.audio_file.storage, song.audio_file.name
    if not name or not storage.exists(name):
        return mark_failed(song_id, "The audio file is missing from storage")
    try:
        with local_file(storage, name) as path:
            result = classify_file(path, loaded.genre_model)
            spectrogram = save_spectrogram(path, song.sha256, loaded.genre_model)
    except InvalidAudio as exc:
        return mark_failed(song_id, audio_reason(exc))
    return save_classification(song_id, loaded, result, spectrogram)


def save_spectrogram(audio_path: Path, sha256: str, genre_model: GenreModel) -> str:
    """Render the song's mel spectrogram and store it as spectrograms/<sha256>.png; returns its storage name."""
    from .features import mel_spectrogram_png

    name, storage = f"spectrograms/{sha256}.png", song_storage()
    with tempfile.TemporaryDirectory(prefix="skybeat-spectrogram-") as scratch:
        png = Path(scratch) / "spectrogram.png"
        mel_spectrogram_png(audio_path, png, genre_model.settings)
        storage.delete(name)  # same name on every run: replace, don't pile up copies
        with png.open("rb") as handle:
            return storage.save(name, File(handle))


def song_storage() -> Storage:
    """Where songs' spectrograms are stored."""
    return Song._meta.get_field("spectrogram").storage


def mark_failed(song_id: int, reason: str) -> None:
    logger.warning("Song %s failed: %s", song_id, reason)
    _set_status(song_id, Song.Status.FAILED, reason)


def _set_status(song_id: int, status: str, reason: str = "") -> bool:
    changed = Song.objects.filter(pk=song_id).update(status=status, failure_reason=reason, status_changed_at=timezone.now())
    read_cache.songs_changed()  # song rows show the status
    return bool(changed)


def fail_unexpected(song_id: int, exc: Exception) -> None:
    """A bug or unforeseen error: the song fails naming it (retry once fixed); the log keeps the trace."""
    logger.error("Song %s: unexpected error while classifying", song_id, exc_info=exc)
    mark_failed(song_id, f"Classification failed unexpectedly ({type(exc).__name__}: {exc})")


def audio_reason(exc: InvalidAudio) -> str:
    """"Could not decode audio: <why>", without doubling the phrase when the decoder's message has it already."""
    message = str(exc).strip() or "unknown decoding error"
    prefix = "Could not decode audio"
    if message.lower().startswith(prefix.lower()):
        return prefix + message[len(prefix):]
    return f"{prefix}: {message}"


def timeout_reason() -> str:
    return f"Classification took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s and was stopped"


def transient_reason(exc: Exception, attempts: int) -> str:
    if isinstance(exc, OperationalError):
        return f"The database was unavailable ({exc}); gave up after {attempts} attempts"
    return f"Could not read the audio file from storage ({exc}); gave up after {attempts} attempts"
