"""Training genre models on labelled songs: datasets, the by-song split, training loops, metrics, model card.

Three modes, all ending in a ``GenreModel`` saved atomically under ``SKYBEAT_MODELS_DIR`` and registered as
an inactive ``ModelVersion``:

- ``feature-extractor``: the pretrained backbone is frozen; its per-frame embeddings (cached on disk per
  song, see ``embedding_cache``) feed a small head, the only part trained. Fast, good with little data.
- ``fine-tune``: backbone and head are trained together on log-mel frames (small learning rate).
- ``from-scratch``: the baseline CRNN on log-mel frames with no pretraining.

A song's frames are all on one side of the split; the song-level prediction averages frame probabilities.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Genre, GenreLabel
from skybeat.errors import InvalidAudio

from . import labels
from .backbones import backbone_version, load_musicnn
from .embedding_cache import EmbeddingCache
from .features import FrameSettings, song_frames
from .genre_model import ARCHITECTURES, file_sha256, save_genre_model
from .models import ModelVersion, TrainingJob
from .networks import build_crnn_head, build_finetune_model, build_from_scratch_model

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".wav", ".au", ".mp3", ".ogg", ".flac")


class TrainingError(Exception):
    """Training cannot go ahead or failed for a reason a person can act on; the message says which."""


@dataclass(frozen=True)
class LabelledClip:
    """One labelled song. ``key`` (the audio SHA-256) identifies it on either side of the split."""

    key: str
    path: Path
    genre: str
    song_id: int | None = None

    @property
    def split_id(self) -> int | str:
        """How the model card names the song: its library id, else its file hash."""
        return self.song_id if self.song_id is not None else self.key


def folder_dataset(root: Path, genres: list[str] | None = None) -> list[LabelledClip]:
    """Clips of a labelled folder in the GTZAN layout: ``root/<genre>/*.wav|au|mp3|ogg|flac``."""
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
            clip = LabelledClip(file_sha256(path), path, folder.name)
            earlier = by_key.setdefault(clip.key, clip)
            if earlier.genre != clip.genre:
                raise TrainingError(
                    f"{earlier.path} and {path} are the same audio labelled {earlier.genre} and {clip.genre}")
    clips = list(by_key.values())
    _check_counts(clips, minimum=2, source=str(root))
    return clips


def library_dataset(genre_slugs: list[str] | None = None) -> list[LabelledClip]:
    """Labelled songs of the library, for the requested genres or every current genre with enough labels.

    Raises TrainingError naming each requested genre that has too few labelled songs.
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
        if len(ready) < 2:
            detail = "; ".join(item.problem for item in status if not item.ready) or "no genres exist"
            raise TrainingError(f"training needs at least two genres with enough labelled songs ({detail})")
        status = ready
    slugs = [item.genre.slug for item in status]
    if len(slugs) < 2:
        raise TrainingError("training needs at least two genres")
    rows = GenreLabel.objects.filter(genre__slug__in=slugs).select_related("song", "genre").order_by("song_id")
    clips = [LabelledClip(row.song.sha256, Path(row.song.audio_file.path), row.genre.slug, row.song_id) for row in rows]
    missing = [clip for clip in clips if not clip.path.is_file()]
    if missing:
        raise TrainingError(f"the audio file of song {missing[0].song_id} is missing ({missing[0].path})")
    return clips


def _check_counts(clips: list[LabelledClip], minimum: int, source: str) -> None:
    counts = Counter(clip.genre for clip in clips)
    if len(counts) < 2:
        raise TrainingError(f"{source} has {len(counts)} genre(s) with audio; training needs at least two")
    short = [f"genre '{genre}' has {n} songs, needs {minimum}" for genre, n in sorted(counts.items()) if n < minimum]
    if short:
        raise TrainingError("; ".join(short))


def split_by_song(
    clips: list[LabelledClip], val_fraction: float, seed: int
) -> tuple[list[LabelledClip], list[LabelledClip]]:
    """(train, validation): stratified by genre, whole songs only, reproducible from ``seed``.

    Every genre with at least two songs has at least one on each side.
    """
    if not 0 < val_fraction < 1:
        raise TrainingError(f"the validation fraction must be between 0 and 1, not {val_fraction}")
    songs: dict[str, list[LabelledClip]] = defaultdict(list)  # clips sharing a key are one song
    for clip in sorted(clips, key=lambda c: (c.key, c.genre, str(c.path))):
        songs[clip.key].append(clip)
    by_genre: dict[str, list[str]] = defaultdict(list)
    for key, same_song in songs.items():
        by_genre[same_song[0].genre].append(key)
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


# --- Training -----------------------------------------------------------------------------------------------------

DEFAULT_BACKBONE = "MSD_musicnn"
DEFAULT_SKIP_S = FrameSettings.skip_s
CARD_FILE = "model_card.json"
CONFUSION_FILE = "confusion.png"
PREPARE_SHARE = 0.3  # share of the progress bar for computing features, the rest is epochs (and saving)
FIT_SHARE = 0.65
REPORT_EVERY_S = 2.0
LOG_MEL_FRAMES_PER_BATCH = 32
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ARCHITECTURE = {
    "feature-extractor": ModelVersion.Architecture.CRNN_FEATURE_EXTRACTOR,
    "fine-tune": ModelVersion.Architecture.CRNN_FINE_TUNE,
    "from-scratch": ModelVersion.Architecture.CRNN_FROM_SCRATCH,
}


@dataclass(frozen=True)
class TrainingOptions:
    mode: str = "feature-extractor"
    epochs: int = 30
    val_fraction: float = 0.2
    seed: int = 0
    max_frames: int | None = None  # frames per song (FrameSettings.max_frames) when set
    skip_s: float = DEFAULT_SKIP_S  # seconds skipped at each end of a song; small for short clips
    name: str = ""
    patience: int = 5  # epochs without a better validation loss before stopping
    batch_size: int = 16  # songs per batch (fewer for log-mel modes: see songs_per_batch)
    backbone: str = DEFAULT_BACKBONE

    def frame_settings(self) -> FrameSettings:
        base = FrameSettings()
        return replace(base, skip_s=self.skip_s, max_frames=self.max_frames or base.max_frames)

    def songs_per_batch(self, n_frames: int) -> int:
        """Songs per batch: ``batch_size``, but modes that run a CNN on log-mel frames hold at most
        LOG_MEL_FRAMES_PER_BATCH frames per batch (a musicnn backward pass takes ~70 MB per frame)."""
        if self.mode == "feature-extractor":
            return self.batch_size
        return max(1, min(self.batch_size, LOG_MEL_FRAMES_PER_BATCH // n_frames))


@dataclass
class Progress:
    """Where a training run is: overall ``fraction`` 0..1, what it is doing, its latest metrics."""

    fraction: float
    stage: str
    epoch: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    eta_s: float | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass
class TrainingResult:
    model_version: ModelVersion
    card: dict
    card_path: Path
    history: list[dict]
    cache_stats: dict[str, int]


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


class _EpochReporter(keras.callbacks.Callback):
    """Reports each epoch's metrics, the overall progress and the estimated time left; within an epoch, the
    batches done, at most every REPORT_EVERY_S (an epoch on a big library can take many minutes)."""

    def __init__(self, epochs: int, report: ProgressCallback, history: list[dict]):
        super().__init__()
        self.epochs, self.report, self.history = epochs, report, history

    def on_train_begin(self, logs=None):
        self.fit_started = self.last_report = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.started, self.epoch = time.monotonic(), epoch

    def on_train_batch_end(self, batch, logs=None):
        now, steps = time.monotonic(), self.params["steps"]  # SongBatches has a length
        if now - self.last_report < REPORT_EVERY_S:
            return
        self.last_report = now
        done = (self.epoch + (batch + 1) / steps) / self.epochs  # share of all epochs' batches
        self.report(Progress(
            fraction=PREPARE_SHARE + FIT_SHARE * done,
            stage=f"epoch {self.epoch + 1}/{self.epochs}, batch {batch + 1}/{steps}",
            eta_s=(now - self.fit_started) / done * (1 - done),
        ))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.monotonic() - self.started
        metrics = {key: float(logs[key]) for key in ("loss", "accuracy", "val_loss", "val_accuracy") if key in logs}
        self.history.append({"epoch": epoch + 1, **metrics, "seconds": round(seconds, 2)})
        mean_s = sum(row["seconds"] for row in self.history) / len(self.history)
        self.report(Progress(
            fraction=PREPARE_SHARE + FIT_SHARE * (epoch + 1) / self.epochs,
            stage=f"epoch {epoch + 1}/{self.epochs}",
            epoch=epoch + 1,
            metrics=metrics,
            eta_s=mean_s * (self.epochs - epoch - 1),
        ))


def embedding_cache_for(options: TrainingOptions) -> EmbeddingCache:
    return EmbeddingCache(backbone_version(options.backbone), options.frame_settings().to_dict())


def embed(path: Path, frame_settings: FrameSettings, backbone: str) -> np.ndarray:
    """The frozen backbone's embeddings (n, D) of a song's frames."""
    return load_musicnn(backbone).embed(song_frames(path, frame_settings).frames)


def prepare_inputs(
    clips: list[LabelledClip], options: TrainingOptions, cache: EmbeddingCache, report: ProgressCallback
) -> tuple[list[SongInputs], list[dict]]:
    """Each clip's network inputs (cached backbone embeddings, or log-mel frames) and the clips skipped as
    undecodable, with the reason."""
    frame_settings = options.frame_settings()
    embedding = options.mode == "feature-extractor"
    songs, skipped = [], []
    started = last_report = time.monotonic()
    for done, clip in enumerate(clips, start=1):
        try:
            if embedding:  # the backbone is loaded on the first cache miss only
                frames = cache.get_or_compute(clip.key, lambda: embed(clip.path, frame_settings, options.backbone))
            else:
                frames = song_frames(clip.path, frame_settings).frames
            songs.append(SongInputs(clip, frames))
        except InvalidAudio as exc:
            logger.warning("Skipping %s: %s", clip.path, exc)
            skipped.append({"id": clip.split_id, "file": clip.path.name, "genre": clip.genre, "reason": str(exc)})
        now = time.monotonic()
        if now - last_report >= REPORT_EVERY_S or done == len(clips):
            last_report = now
            report(Progress(
                fraction=PREPARE_SHARE * done / len(clips),
                stage=f"{'embedding' if embedding else 'reading'} songs {done}/{len(clips)}",
                eta_s=(now - started) / done * (len(clips) - done),
            ))
    return songs, skipped


def build_network(options: TrainingOptions, n_genres: int, input_shape: tuple[int, ...]) -> keras.Model:
    if options.mode == "feature-extractor":
        return build_crnn_head(input_shape[-1], n_genres)
    if options.mode == "fine-tune":
        return build_finetune_model(options.backbone, n_genres, settings=options.frame_settings())
    if options.mode == "from-scratch":
        return build_from_scratch_model(n_genres, options.frame_settings())
    raise TrainingError(f"unknown training mode {options.mode!r}; expected one of {', '.join(_ARCHITECTURE)}")


def fit(network: keras.Model, train: list[SongInputs], val: list[SongInputs], genres: list[str],
        options: TrainingOptions, report: ProgressCallback) -> tuple[list[dict], int]:
    """Train ``network`` in place on whole songs; stop early on validation loss and keep the best weights.

    Returns (per-epoch history, best epoch).
    """
    song_view = keras.Model(network.input, network.output["song"], name=f"{network.name}_song")
    song_view.compile(optimizer=network.optimizer, loss="categorical_crossentropy",
                      metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])
    history: list[dict] = []
    n_frames = max(len(song.frames) for song in train + val)
    batch_size = options.songs_per_batch(n_frames)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=options.patience, restore_best_weights=True)
    song_view.fit(
        SongBatches(train, genres, batch_size, n_frames, seed=options.seed),
        validation_data=SongBatches(val, genres, batch_size, n_frames),
        epochs=options.epochs,
        callbacks=[stopper, _EpochReporter(options.epochs, report, history)],
        verbose=0,
    )
    best = min(history, key=lambda row: row.get("val_loss", math.inf))["epoch"] if history else 0
    return history, best


def evaluate(network: keras.Model, val: list[SongInputs], genres: list[str], options: TrainingOptions) -> dict:
    """Validation metrics: song-level accuracy (frame probabilities averaged per song) against single-frame
    accuracy (each frame classified alone), per-genre recall for both, and the song-level confusion matrix."""
    index = {genre: i for i, genre in enumerate(genres)}
    truth = np.array([index[song.clip.genre] for song in val])
    batch_size = options.songs_per_batch(max(len(song.frames) for song in val))
    song_probs = np.concatenate([
        network.predict(pad_songs([s.frames for s in val[i:i + batch_size]]), verbose=0)["song"]
        for i in range(0, len(val), batch_size)
    ])
    song_pred = song_probs.argmax(axis=1)
    lone_frames = np.concatenate([song.frames for song in val])[:, None]  # every frame as a song of one frame
    frame_probs = network.predict(lone_frames, batch_size=options.songs_per_batch(1), verbose=0)["song"]
    frame_truth = np.concatenate([[index[song.clip.genre]] * len(song.frames) for song in val])
    frame_pred = frame_probs.argmax(axis=1)
    confusion = np.zeros((len(genres), len(genres)), dtype=int)
    np.add.at(confusion, (truth, song_pred), 1)
    per_genre = {}
    for i, genre in enumerate(genres):
        songs, frames = truth == i, frame_truth == i
        recall = float((song_pred[songs] == i).mean()) if songs.any() else None
        frame_recall = float((frame_pred[frames] == i).mean()) if frames.any() else None
        per_genre[genre] = {
            "songs": int(songs.sum()), "frames": int(frames.sum()), "recall": recall, "frame_recall": frame_recall,
            "multi_frame_gain": None if recall is None else recall - frame_recall,
        }
    song_accuracy, frame_accuracy = float((song_pred == truth).mean()), float((frame_pred == frame_truth).mean())
    return {
        "song_accuracy": song_accuracy,
        "frame_accuracy": frame_accuracy,
        "multi_frame_gain": song_accuracy - frame_accuracy,
        "validation_songs": len(val),
        "validation_frames": int(len(frame_truth)),
        "per_genre": per_genre,
        "confusion": confusion.tolist(),
    }


def draw_confusion(confusion: list[list[int]], genres: list[str], path: Path, title: str) -> Path:
    """The confusion matrix as a PNG: true genres in rows, predicted in columns, counts in the cells."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matrix = np.asarray(confusion)
    size = 2.5 + 0.55 * len(genres)
    figure = Figure(figsize=(size, size), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Greens", vmin=0)
    ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), genres)
    ax.set_xlabel("predicted genre")
    ax.set_ylabel("true genre")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (row, column), count in np.ndenumerate(matrix):
        ax.text(column, row, str(count), ha="center", va="center", color="white" if count > threshold else "black")
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def new_model_name(options: TrainingOptions) -> str:
    """The requested name if valid and free, else "<mode>-<date>-<time>" (with a counter if that is taken)."""
    def taken(name: str) -> bool:
        return ModelVersion.objects.filter(name=name).exists() or (Path(settings.SKYBEAT_MODELS_DIR) / name).exists()

    if options.name:
        if not _NAME.match(options.name):
            raise TrainingError(f"the model name {options.name!r} may use only letters, digits, '.', '_' and '-'")
        if taken(options.name):
            raise TrainingError(f"a model named {options.name!r} already exists; choose another name")
        return options.name
    base = name = f"{options.mode}-{timezone.now():%Y%m%d-%H%M%S}"
    counter = 1
    while taken(name):
        counter += 1
        name = f"{base}-{counter}"
    return name


def genre_model_for(options: TrainingOptions, genres: list[str], network: keras.Model):
    cls = ARCHITECTURES[_ARCHITECTURE[options.mode]]
    backbone = None if options.mode == "from-scratch" else options.backbone
    return cls(genres, options.frame_settings(), network, backbone)


def train(clips: list[LabelledClip], options: TrainingOptions, source: str,
          on_progress: ProgressCallback | None = None) -> TrainingResult:
    """Train a model of ``options.mode`` on ``clips``, save it with its model card and register it inactive.

    Raises TrainingError when the data or options do not allow training (the message says why).
    """
    report = on_progress or (lambda progress: None)
    started = time.monotonic()
    if options.mode not in _ARCHITECTURE:
        raise TrainingError(f"unknown training mode {options.mode!r}; expected one of {', '.join(_ARCHITECTURE)}")
    name = new_model_name(options)
    keras.utils.set_random_seed(options.seed)
    cache = embedding_cache_for(options)
    songs, skipped = prepare_inputs(clips, options, cache, report)
    _check_counts([song.clip for song in songs], minimum=2, source="the readable songs")
    by_key = {song.clip.key: song for song in songs}
    train_clips, val_clips = split_by_song([song.clip for song in songs], options.val_fraction, options.seed)
    train_songs, val_songs = [by_key[c.key] for c in train_clips], [by_key[c.key] for c in val_clips]
    genres = sorted({clip.genre for clip in train_clips})

    network = build_network(options, len(genres), songs[0].frames.shape[1:])
    history, best_epoch = fit(network, train_songs, val_songs, genres, options, report)
    report(Progress(PREPARE_SHARE + FIT_SHARE, "evaluating and saving", epoch=len(history), eta_s=None))
    metrics = {**evaluate(network, val_songs, genres, options),
               "epochs_run": len(history), "best_epoch": best_epoch}
    card = model_card(name, options, source, genres, train_clips, val_clips, songs, skipped, history, metrics,
                      cache.stats, time.monotonic() - started)
    version = save_and_register(name, genre_model_for(options, genres, network), card)
    report(Progress(1.0, f"registered {name}", epoch=len(history), metrics=_last_metrics(history), eta_s=0.0))
    return TrainingResult(version, card, Path(settings.SKYBEAT_MODELS_DIR) / name / CARD_FILE, history, cache.stats)


def _last_metrics(history: list[dict]) -> dict[str, float]:
    return {k: v for k, v in (history[-1] if history else {}).items() if k not in ("epoch", "seconds")}


def model_card(name, options, source, genres, train_clips, val_clips, songs, skipped, history, metrics,
               cache_stats, duration_s) -> dict:
    frames = {song.clip.key: len(song.frames) for song in songs}
    return {
        "name": name,
        "created_at": timezone.now().isoformat(),
        "mode": options.mode,
        "architecture": _ARCHITECTURE[options.mode],
        "genres": genres,
        "backbone": None if options.mode == "from-scratch" else {
            "name": options.backbone, "version": backbone_version(options.backbone)},
        "feature_params": options.frame_settings().to_dict(),
        "source": source,
        "options": {"epochs": options.epochs, "val_fraction": options.val_fraction, "seed": options.seed,
                    "patience": options.patience, "batch_size": options.batch_size},
        "data": {
            "train": dict(sorted(Counter(c.genre for c in train_clips).items())),
            "validation": dict(sorted(Counter(c.genre for c in val_clips).items())),
            "train_frames": sum(frames[c.key] for c in train_clips),
            "validation_frames": sum(frames[c.key] for c in val_clips),
            "skipped": skipped,
        },
        "split": {
            "by": "song_id" if all(c.song_id is not None for c in train_clips + val_clips) else "sha256",
            "train": sorted((c.split_id for c in train_clips), key=str),
            "validation": sorted((c.split_id for c in val_clips), key=str),
        },
        "history": history,
        "metrics": metrics,
        "embedding_cache": cache_stats,
        "training_seconds": round(duration_s, 1),
    }


def save_and_register(name: str, genre_model, card: dict) -> ModelVersion:
    """Write the artefact, model card and confusion image, renamed into place together, then register it."""
    models_dir = Path(settings.SKYBEAT_MODELS_DIR)
    staging = save_genre_model(genre_model, models_dir / f".{name}.staging")
    try:
        (staging / CARD_FILE).write_text(json.dumps(card, indent=1, default=str))
        draw_confusion(card["metrics"]["confusion"], card["genres"], staging / CONFUSION_FILE,
                       f"{name}: validation songs")
        os.replace(staging, models_dir / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ModelVersion.objects.create(
        name=name, architecture=card["architecture"], genres=card["genres"], feature_params=card["feature_params"],
        metrics=card["metrics"], model_card=card, artefact_path=name, active=False,
    )


# --- Training jobs (the admin's "Train a new model") --------------------------------------------------------------


class JobProgress:
    """Writes a run's progress into its TrainingJob row, for the admin's live view; each report is also the job's
    heartbeat (registry.fail_stalled_training_jobs)."""

    def __init__(self, job: TrainingJob):
        self.job = job

    def __call__(self, progress: Progress) -> None:
        job = self.job
        job.progress, job.eta_s, job.message = min(progress.fraction, 1.0), progress.eta_s, progress.stage
        job.heartbeat_at = timezone.now()
        fields = ["progress", "eta_s", "message", "heartbeat_at"]
        if progress.epoch and progress.epoch != job.epoch:
            job.epoch = progress.epoch
            job.history = [*job.history, {"epoch": progress.epoch, **progress.metrics}]
            fields += ["epoch", "history"]
        TrainingJob.objects.filter(pk=job.pk).update(**{name: getattr(job, name) for name in fields})


def run_job(job_id: int, time_limit_s: float | None = None) -> TrainingJob | None:
    """Run a queued training job on the library's labels; the job ends ``succeeded`` or ``failed`` with why.

    A job that is not queued (already run, or delivered twice) is left alone, a deleted one skipped (None).
    The active model never changes.
    """
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            logger.info("Training job %s no longer exists; nothing to run", job_id)
            return None
        if job.status != TrainingJob.Status.QUEUED:
            logger.info("Training job %s is %s, not queued; not running it again", job.pk, job.status)
            return job
        job.status, job.message, job.heartbeat_at = TrainingJob.Status.RUNNING, "reading the labels", timezone.now()
        job.save(update_fields=["status", "message", "heartbeat_at"])
    options = TrainingOptions(mode=job.mode, epochs=job.epochs, seed=job.pk)
    try:
        clips = library_dataset(job.genres or None)
        result = train(clips, options, source="library", on_progress=JobProgress(job))
    except TrainingError as exc:
        return _finish(job, TrainingJob.Status.FAILED, str(exc))
    except SoftTimeLimitExceeded:
        return _finish(job, TrainingJob.Status.FAILED, f"training took longer than {time_limit_s} s and was stopped")
    except Exception as exc:
        logger.exception("Training job %s failed", job.pk)
        return _finish(job, TrainingJob.Status.FAILED, f"training failed unexpectedly: {type(exc).__name__}: {exc}")
    metrics = result.model_version.metrics
    job.model_version, job.progress, job.eta_s = result.model_version, 1.0, 0.0
    summary = (f"Registered {result.model_version.name} (inactive): song-level accuracy {metrics['song_accuracy']:.0%}"
               f" on {metrics['validation_songs']} validation songs.")
    return _finish(job, TrainingJob.Status.SUCCEEDED, summary)


def _finish(job: TrainingJob, status: str, message: str) -> TrainingJob:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    if status == TrainingJob.Status.FAILED:
        job.eta_s = None
    job.save(update_fields=["status", "message", "finished_at", "eta_s", "progress", "model_version"])
    return job
