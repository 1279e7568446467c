"""Training genre models with Keras on labelled songs: batches of whole songs, fitting, evaluation.

Four modes, all ending in a ``GenreModel`` saved atomically under ``SKYBEAT_MODELS_DIR`` and registered as
an inactive ``ModelVersion``:

- ``fusion`` (the default): frozen MSD + MTT musicnn embeddings into a CRNN head, fused with the taggers' genre
  tags and calibrated by cross-validation (see ``classifier.fusion_training``).
- ``feature-extractor``: the pretrained backbone is frozen; its per-frame embeddings (cached on disk per
  song, see ``embedding_cache``) feed a small head, the only part trained. Fast, good with little data.
- ``fine-tune``: backbone and head are trained together on log-mel frames (small learning rate).
- ``from-scratch``: the baseline CRNN on log-mel frames with no pretraining.

A song's frames are all on one side of the split; the song-level prediction averages frame probabilities.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from skybeat.errors import InvalidAudio

from .backbones import backbone_version, load_musicnn
from .datasets import LabelledClip, TrainingError, check_counts, split_by_song
from .embedding_cache import EmbeddingCache
from .features import song_frames
from .genre_model import ARCHITECTURES, FUSION_BACKBONES, fusion_frame_features
from .model_cards import CARD_FILE, model_card, new_model_name, save_and_register
from .networks import build_crnn_head, build_finetune_model, build_from_scratch_model
from .registry import live_artefact_dir
from .training_options import (
    ARCHITECTURE_OF_MODE, FIT_SHARE, PREPARE_SHARE, REPORT_EVERY_S, Progress, ProgressCallback, TrainingOptions,
    TrainingResult,
)

logger = logging.getLogger(__name__)


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


FrameFeatures = Callable[[np.ndarray], np.ndarray]  # log-mel frames (n, 187, 96) -> per-frame inputs (n, ...)


def frame_features_for(options: TrainingOptions) -> tuple[FrameFeatures | None, EmbeddingCache | None]:
    """What the mode's network reads from each frame, and the cache that keeps it per song (None, None: the
    log-mel frames themselves, which are cheap to recompute and large to keep)."""
    frame_settings = options.frame_settings().to_dict()
    if options.mode == "feature-extractor":
        return (lambda frames: load_musicnn(options.backbone).embed(frames),
                EmbeddingCache(backbone_version(options.backbone), frame_settings))
    if options.mode == "fusion":
        version = "+".join(backbone_version(name) for name in FUSION_BACKBONES) + "-fusion-features"
        return fusion_frame_features, EmbeddingCache(version, frame_settings)
    return None, None


def prepare_inputs(clips: list[LabelledClip], options: TrainingOptions, report: ProgressCallback,
                   ) -> tuple[list[SongInputs], list[dict], dict[str, int]]:
    """Each clip's network inputs (cached per-frame features, or log-mel frames), the clips skipped as
    undecodable with the reason, and the cache's hit counts. The backbones load on the first cache miss only."""
    frame_settings = options.frame_settings()
    features_of, cache = frame_features_for(options)
    songs, skipped = [], []
    started = last_report = time.monotonic()

    def read(clip: LabelledClip) -> np.ndarray:
        with clip.local_path() as path:
            frames = song_frames(path, frame_settings).frames
        return frames if features_of is None else features_of(frames)

    for done, clip in enumerate(clips, start=1):
        try:
            inputs = read(clip) if cache is None else cache.get_or_compute(clip.key, lambda: read(clip))
            songs.append(SongInputs(clip, inputs))
        except InvalidAudio as exc:
            logger.warning("Skipping %s: %s", clip.file_name, exc)
            skipped.append({"id": clip.split_id, "file": clip.file_name, "genre": clip.genre, "reason": str(exc)})
        now = time.monotonic()
        if now - last_report >= REPORT_EVERY_S or done == len(clips):
            last_report = now
            report(Progress(
                fraction=PREPARE_SHARE * done / len(clips),
                stage=f"{'reading' if cache is None else 'embedding'} songs {done}/{len(clips)}",
                eta_s=(now - started) / done * (len(clips) - done),
            ))
    return songs, skipped, cache.stats if cache else {"hits": 0, "misses": 0}


def build_network(options: TrainingOptions, n_genres: int, input_shape: tuple[int, ...]) -> keras.Model:
    if options.mode == "feature-extractor":
        return build_crnn_head(input_shape[-1], n_genres)
    if options.mode == "fine-tune":
        return build_finetune_model(options.backbone, n_genres, settings=options.frame_settings())
    if options.mode == "from-scratch":
        return build_from_scratch_model(n_genres, options.frame_settings())
    raise TrainingError(f"mode {options.mode!r} has no single network")


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


def genre_model_for(options: TrainingOptions, genres: list[str], network: keras.Model):
    cls = ARCHITECTURES[ARCHITECTURE_OF_MODE[options.mode]]
    backbone = None if options.mode == "from-scratch" else options.backbone
    return cls(genres, options.frame_settings(), network, backbone)


def train(clips: list[LabelledClip], options: TrainingOptions, source: str,
          on_progress: ProgressCallback | None = None) -> TrainingResult:
    """Train a model of ``options.mode`` on ``clips``, save it with its model card and register it inactive.

    Raises TrainingError when the data or options do not allow training (the message says why).
    """
    report = on_progress or (lambda progress: None)
    started = time.monotonic()
    options.check_mode()
    name = new_model_name(options)
    keras.utils.set_random_seed(options.seed)
    songs, skipped, cache_stats = prepare_inputs(clips, options, report)
    if options.mode == "fusion":
        from .fusion_training import train_fusion

        return train_fusion(name, songs, skipped, cache_stats, options, source, report, started)
    check_counts([song.clip for song in songs], minimum=2, source="the readable songs")
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
                      cache_stats, time.monotonic() - started)
    version = save_and_register(name, genre_model_for(options, genres, network), card)
    report(Progress(1.0, f"registered {name}", epoch=len(history), metrics=_last_metrics(history), eta_s=0.0))
    return TrainingResult(version, card, live_artefact_dir(version) / CARD_FILE, history, cache_stats)


def _last_metrics(history: list[dict]) -> dict[str, float]:
    return {k: v for k, v in (history[-1] if history else {}).items() if k not in ("epoch", "seconds")}
