"""Accuracy of a genre model on a labelled folder: DIR/<genre>/*.{wav,au,mp3,ogg,flac} (the GTZAN layout).

    .venv/bin/python bench/accuracy.py DIR                      # the active model
    .venv/bin/python bench/accuracy.py DIR --model NAME --alias hiphop=hip-hop
    .venv/bin/python bench/accuracy.py --synthetic              # a small generated folder under var/

Reports song-level accuracy (the model's song output), single-frame accuracy (each 3 s frame alone) against the
multi-frame average (frames' mean), per-genre recall, and a confusion matrix PNG under var/reports/. Folders whose
genre the model does not know are reported with what the model called them, never silently dropped; files that
cannot be decoded are listed with the reason.

--synthetic writes tests/audio_fixtures' made-up genres (drone, pulse, chime) to var/bench-synthetic/. They are
stand-ins, not music: by default "pulse" (a drum machine) is scored as electronic, "drone" as ambient, and "chime"
is left unknown to show that path. A model trained on those genres (bench/train.py) is scored on them as they are.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from classifier import inference  # noqa: E402
from classifier.models import ModelVersion  # noqa: E402
from skybeat.errors import InvalidAudio  # noqa: E402

EXTENSIONS = {".wav", ".au", ".mp3", ".ogg", ".flac"}
SYNTHETIC_ALIASES = {"pulse": "electronic", "drone": "ambient"}


@dataclass
class Evaluation:
    model: str
    genres: list[str]  # the model's outputs
    labels: list[str] = field(default_factory=list)  # true genre per scored file
    song_pred: list[str] = field(default_factory=list)  # the model's song output
    average_pred: list[str] = field(default_factory=list)  # argmax of the frames' mean
    frame_hits: list[int] = field(default_factory=list)  # per file: frames right on their own
    frame_counts: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # path -> reason
    seconds: float = 0.0

    def report(self) -> dict:
        scored = [i for i, label in enumerate(self.labels) if label in self.genres]

        def accuracy(predictions: list[str], among: list[int]) -> float | None:
            return round(mean(predictions[i] == self.labels[i] for i in among), 4) if among else None

        frames = sum(self.frame_counts[i] for i in scored)
        return {
            "model": self.model,
            "files_scored": len(scored),
            "song_accuracy": accuracy(self.song_pred, scored),
            "multi_frame_average_accuracy": accuracy(self.average_pred, scored),
            "single_frame_accuracy": round(sum(self.frame_hits[i] for i in scored) / frames, 4) if frames else None,
            "per_genre_recall": {
                genre: accuracy(self.song_pred, [i for i in scored if self.labels[i] == genre])
                for genre in sorted({self.labels[i] for i in scored})
            },
            "unknown_genres": {  # what the model called the songs of each genre it does not know
                genre: dict(Counter(p for p, label in zip(self.song_pred, self.labels, strict=True) if label == genre))
                for genre in sorted(set(self.labels) - set(self.genres))
            },
            "model_genres_without_files": sorted(set(self.genres) - set(self.labels)),
            "unreadable_files": self.errors,
            "seconds_per_file": round(self.seconds / max(len(self.labels) + len(self.errors), 1), 3),
        }


def labelled_files(root: Path, aliases: dict[str, str]) -> list[tuple[str, Path]]:
    """(genre, path) for every audio file in root/<genre>/, genre names mapped through ``aliases``."""
    files = [(aliases.get(folder.name, folder.name), path)
             for folder in sorted(p for p in root.iterdir() if p.is_dir())
             for path in sorted(folder.iterdir()) if path.suffix.lower() in EXTENSIONS]
    if not files:
        raise SystemExit(f"{root}: no <genre>/*.{{{','.join(sorted(e[1:] for e in EXTENSIONS))}}} files found")
    return files


def evaluate(files: list[tuple[str, Path]], version: ModelVersion) -> Evaluation:
    genre_model = inference.load_version(version)
    evaluation = Evaluation(model=version.name, genres=list(genre_model.genres))
    started = time.perf_counter()
    for label, path in files:
        try:
            result = inference.classify_file(path, genre_model)
        except InvalidAudio as exc:
            evaluation.errors[str(path)] = str(exc)
            continue
        frame_winners = [result.genres[i] for i in result.frame_probs.argmax(axis=1)]
        evaluation.labels.append(label)
        evaluation.song_pred.append(result.top(1)[0][0])
        evaluation.average_pred.append(result.genres[int(result.frame_probs.mean(axis=0).argmax())])
        evaluation.frame_hits.append(sum(winner == label for winner in frame_winners))
        evaluation.frame_counts.append(len(frame_winners))
    evaluation.seconds = time.perf_counter() - started
    return evaluation


def confusion_png(evaluation: Evaluation, path: Path) -> Path:
    """Rows: true genres (unknown ones last, marked); columns: the model's genres; cells: song counts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    known = [g for g in evaluation.genres if g in evaluation.labels]
    rows = known + sorted({g for g in evaluation.labels if g not in evaluation.genres})
    matrix = np.zeros((len(rows), len(evaluation.genres)), dtype=int)
    for label, predicted in zip(evaluation.labels, evaluation.song_pred, strict=True):
        matrix[rows.index(label), evaluation.genres.index(predicted)] += 1
    figure = Figure(figsize=(2 + 0.55 * len(evaluation.genres), 1.8 + 0.45 * len(rows)), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.imshow(matrix, cmap="Blues", aspect="auto")
    ax.set_xticks(range(len(evaluation.genres)), evaluation.genres, rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), [r if r in known else f"{r} (unknown to model)" for r in rows])
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted (song level)")
    ax.set_ylabel("true genre")
    ax.set_title(f"{evaluation.model}: confusion matrix")
    figure.tight_layout()
    figure.savefig(path)
    return path


def write_synthetic(root: Path, per_genre: int) -> Path:
    from tests.audio_fixtures import write_labelled_folder

    return write_labelled_folder(root, per_genre=per_genre, seconds=12.0, seed=7)


def print_report(report: dict, png: Path, json_path: Path) -> None:
    def pct(value: float | None) -> str:
        return "n/a (no file of a genre the model knows)" if value is None else f"{100 * value:.1f} %"

    print(f"model {report['model']}: {report['files_scored']} file(s) scored, {report['seconds_per_file']} s per file")
    print(f"  song-level accuracy           {pct(report['song_accuracy'])}")
    print(f"  multi-frame average accuracy  {pct(report['multi_frame_average_accuracy'])}")
    print(f"  single-frame accuracy         {pct(report['single_frame_accuracy'])}")
    for genre, recall in report["per_genre_recall"].items():
        print(f"  recall {genre:<22} {pct(recall)}")
    for genre, called in report["unknown_genres"].items():
        print(f"  unknown to the model: {genre} -> called {', '.join(f'{g} x{n}' for g, n in called.items())}")
    for path, reason in report["unreadable_files"].items():
        print(f"  unreadable: {path}: {reason}")
    print(f"confusion matrix: {png}\nreport: {json_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, help="DIR/<genre>/<files>")
    parser.add_argument("--model", metavar="NAME", help="a model version's name (default: the active model)")
    parser.add_argument("--alias", action="append", default=[], metavar="FOLDER=SLUG",
                        help="score a folder as one of the model's genres, e.g. hiphop=hip-hop (repeatable)")
    parser.add_argument("--synthetic", action="store_true", help="generate and use a small synthetic folder")
    parser.add_argument("--per-genre", type=int, default=4, help="synthetic files per genre (default 4)")
    args = parser.parse_args()
    if bool(args.directory) == args.synthetic:
        parser.error("give either DIR or --synthetic")
    aliases = dict(item.split("=", 1) for item in args.alias)
    if args.synthetic:
        args.directory = write_synthetic(Path(settings.VAR_DIR) / "bench-synthetic", args.per_genre)
        aliases = {**SYNTHETIC_ALIASES, **aliases}
    version = ModelVersion.objects.filter(name=args.model).first() if args.model else ModelVersion.get_active()
    if version is None:
        raise SystemExit(f"no model named {args.model!r}" if args.model else "no model is active")

    evaluation = evaluate(labelled_files(args.directory, aliases), version)
    report = {**evaluation.report(), "directory": str(args.directory), "aliases": aliases}
    out_dir = Path(settings.VAR_DIR) / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"accuracy-{version.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    png = confusion_png(evaluation, out_dir / f"{stem}.png")
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(report, indent=1))
    print_report(report, png, json_path)


if __name__ == "__main__":
    main()
