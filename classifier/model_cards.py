"""A trained model's card and pictures (confusion matrix, reliability diagram), its name, and registering it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from django.conf import settings
from django.utils import timezone

from .artefacts import save_version
from .backbones import backbone_version
from .datasets import TrainingError
from .genre_model import write_model_files
from .models import ModelVersion
from .training_options import ARCHITECTURE_OF_MODE, TrainingOptions

CARD_FILE = "model_card.json"
CONFUSION_FILE = "confusion.png"
RELIABILITY_FILE = "reliability.png"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


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


def draw_reliability(bins: list[dict], path: Path, title: str) -> Path:
    """The reliability diagram as a PNG: per confidence bin, how often the top genre was right (bars) against
    how sure the model was (the diagonal is perfect calibration); bar labels are song counts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    for row in bins:
        width = row["high"] - row["low"]
        ax.bar(row["low"], row["accuracy"], width=width, align="edge", color="#1db954", edgecolor="black",
               alpha=0.8)
        ax.text(row["low"] + width / 2, row["accuracy"] + 0.02, str(row["songs"]), ha="center", fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("top genre probability (confidence)")
    ax.set_ylabel("share of songs whose top genre is right")
    ax.set_title(title)
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


def card_header(name: str, options: TrainingOptions, source: str, genres: list[str], backbones: list[str]) -> dict:
    """What every model card starts with: the model, how it was asked to train and on what."""
    return {
        "name": name,
        "created_at": timezone.now().isoformat(),
        "mode": options.mode,
        "architecture": ARCHITECTURE_OF_MODE[options.mode],
        "genres": genres,
        "backbones": {backbone: backbone_version(backbone) for backbone in backbones},
        "feature_params": options.frame_settings().to_dict(),
        "source": source,
        "options": {"epochs": options.epochs, "val_fraction": options.val_fraction, "seed": options.seed,
                    "patience": options.patience, "batch_size": options.batch_size},
    }


def model_card(name, options, source, genres, train_clips, val_clips, songs, skipped, history, metrics,
               cache_stats, duration_s) -> dict:
    """The card of a model trained on one train/validation split (the feature-extractor, fine-tune and
    from-scratch modes)."""
    frames = {song.clip.key: len(song.frames) for song in songs}
    backbones = [] if options.mode == "from-scratch" else [options.backbone]
    return {
        **card_header(name, options, source, genres, backbones),
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


def write_artefact(genre_model, card: dict, directory: Path) -> None:
    """The model's files plus its card, confusion matrix and (when calibrated) reliability diagram, written into
    the existing empty folder ``directory``."""
    write_model_files(genre_model, directory)
    (directory / CARD_FILE).write_text(json.dumps(card, indent=1, default=str))
    metrics = card["metrics"]
    draw_confusion(metrics["confusion"], metrics.get("confusion_genres", card["genres"]),
                   directory / CONFUSION_FILE, f"{card['name']}: validation songs")
    if "reliability" in metrics:
        draw_reliability(metrics["reliability"]["bins"], directory / RELIABILITY_FILE,
                         f"{card['name']}: cross-validated songs (ECE {metrics['reliability']['ece']:.3f})")


def save_and_register(name: str, genre_model, card: dict) -> ModelVersion:
    """Write the artefact under SKYBEAT_MODELS_DIR, then register it as an inactive model version."""
    save_version(Path(settings.SKYBEAT_MODELS_DIR) / name, lambda version: write_artefact(genre_model, card, version))
    return ModelVersion.objects.create(
        name=name, architecture=card["architecture"], genres=card["genres"], feature_params=card["feature_params"],
        metrics=card["metrics"], model_card=card, artefact_path=name, active=False,
    )

