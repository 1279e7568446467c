"""What a training run is asked to do and what it reports: options, progress, results (no TensorFlow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .datasets import TrainingError
from .features import FrameSettings
from .models import ModelVersion

DEFAULT_BACKBONE = "MSD_musicnn"
DEFAULT_SKIP_S = FrameSettings.skip_s
PREPARE_SHARE = 0.3  # share of the progress bar for computing features, the rest is epochs (and saving)
FIT_SHARE = 0.65
REPORT_EVERY_S = 2.0
LOG_MEL_FRAMES_PER_BATCH = 32
# RMS levels (dBFS) songs are brought within for models trained from now on: genre-train's 10th-90th percentiles
TRAINING_LOUDNESS_DBFS = (-17.0, -11.5)
FUSION_HEAD_EPOCHS = 10  # epochs of each fusion head (no early stopping): more overfit (classifier.fusion_training)
ARCHITECTURE_OF_MODE = {
    "feature-extractor": ModelVersion.Architecture.CRNN_FEATURE_EXTRACTOR,
    "fine-tune": ModelVersion.Architecture.CRNN_FINE_TUNE,
    "from-scratch": ModelVersion.Architecture.CRNN_FROM_SCRATCH,
    "fusion": ModelVersion.Architecture.CRNN_FUSION,
}


@dataclass(frozen=True)
class TrainingOptions:
    mode: str = "fusion"
    epochs: int = 30
    val_fraction: float = 0.2
    seed: int = 0
    max_frames: int | None = None  # frames per song (FrameSettings.max_frames) when set
    skip_s: float = DEFAULT_SKIP_S  # seconds skipped at each end of a song; small for short clips
    name: str = ""
    patience: int = 5  # epochs without a better validation loss before stopping
    batch_size: int = 16  # songs per batch (fewer for log-mel modes: see songs_per_batch)
    backbone: str = DEFAULT_BACKBONE
    loudness_dbfs: tuple[float, float] | None = TRAINING_LOUDNESS_DBFS  # (min, max); None: as recorded

    def frame_settings(self) -> FrameSettings:
        base = FrameSettings()
        low, high = self.loudness_dbfs or (None, None)
        return replace(base, skip_s=self.skip_s, max_frames=self.max_frames or base.max_frames,
                       min_loudness_dbfs=low, max_loudness_dbfs=high)

    def songs_per_batch(self, n_frames: int) -> int:
        """Songs per batch: ``batch_size``, but modes that run a CNN on log-mel frames hold at most
        LOG_MEL_FRAMES_PER_BATCH frames per batch (a musicnn backward pass takes ~70 MB per frame)."""
        if self.mode in ("feature-extractor", "fusion"):
            return self.batch_size
        return max(1, min(self.batch_size, LOG_MEL_FRAMES_PER_BATCH // n_frames))

    def __post_init__(self) -> None:
        """The one check of the mode, wherever the options come from (command, job, bench)."""
        if self.mode not in ARCHITECTURE_OF_MODE:
            raise TrainingError(
                f"unknown training mode {self.mode!r}; expected one of {', '.join(ARCHITECTURE_OF_MODE)}")


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
