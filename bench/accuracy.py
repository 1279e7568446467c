"""Genre accuracy on a labelled folder (DIR/<genre>/*.{wav,au,mp3,ogg,flac}, the GTZAN layout), side by side for
the trained default model, the ``pretrained-tags`` baseline and a naive sum of the taggers' genre-tag probabilities.

    .venv/bin/python bench/accuracy.py ../shared/data/genre-dev
    .venv/bin/python bench/accuracy.py ../shared/data/genre-dev --model my-model      # another model instead
    .venv/bin/python bench/accuracy.py ../shared/data/genre-dev --artefact DIR        # an unregistered build
    .venv/bin/python bench/accuracy.py --cv ../shared/data/genre-train                 # grouped cross-validation
    .venv/bin/python bench/accuracy.py ../shared/data/genre-dev --levels              # also played louder/quieter

Per model: song-level top-1 and top-3 accuracy, per-genre recall, single-frame against multi-frame accuracy, the
expected calibration error (ECE) of the top probability with a reliability diagram PNG, the ECE of the song
confidence that decides the unsure mark (classifier.fusion.song_confidence), how many songs it marks unsure and how
often those are right, and a confusion-matrix PNG, under var/reports/. Folder names are genre slugs (GTZAN's
"hiphop" is read as hip-hop). Files that cannot be decoded are listed with the reason. With ``--cv``, the
default model's training pipeline cross-validates on the folder, grouped by song, and leaves each tagged genre out
in turn to measure how genres without labelled audio are found (nothing is registered). The songs each model
gets wrong are listed with their top 3. With ``--levels``, every model's top-1 is measured again with the files
played louder and quieter (LEVEL_SHIFTS_DB): recordings are mastered at other levels than GTZAN's.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import soundfile  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from scipy.special import expit  # noqa: E402

from bench.machine import describe_cpu  # noqa: E402
from classifier import inference  # noqa: E402
from classifier.datasets import folder_dataset  # noqa: E402
from classifier.fusion import reliability  # noqa: E402
from classifier.genre_model import (  # noqa: E402
    GenreModel, build_pretrained_tags_model, default_genre_tags, fusion_frame_features, fusion_tag_columns,
)
from classifier.model_cards import draw_confusion, draw_reliability  # noqa: E402
from classifier.model_store import load_genre_model  # noqa: E402
from classifier.models import ModelVersion  # noqa: E402
from skybeat.errors import InvalidAudio  # noqa: E402

DEFAULT_MODEL = "genre-crnn-gtzan"
LEVEL_SHIFTS_DB = (-10, -5, 0, 5, 10)


class NaiveTagSumModel(GenreModel):
    """Baseline: each genre's score is the plain sum of its MSD and MTT tag probabilities, normalised per frame."""

    architecture = "naive-tag-sum"

    def __init__(self, settings):
        super().__init__(list(default_genre_tags()), settings)
        self._columns = fusion_tag_columns(self.genres, default_genre_tags())

    def _frame_probs(self, frames: np.ndarray) -> np.ndarray:
        probs = expit(fusion_frame_features(frames)[:, 400:].astype(np.float64))
        return np.stack([probs[:, columns].sum(axis=1) for columns in self._columns], axis=1)


@dataclass
class Evaluation:
    model: str
    genres: list[str]
    labels: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    song_probs: list[np.ndarray] = field(default_factory=list)
    frame_hits: list[int] = field(default_factory=list)
    frame_counts: list[int] = field(default_factory=list)
    uncertain: list[bool] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def report(self) -> dict:
        labels = np.array(self.labels)
        probs = np.stack(self.song_probs)
        ranked = np.array(self.genres)[np.argsort(-probs, axis=1)]
        top1 = ranked[:, 0] == labels
        top3 = (ranked[:, :3] == labels[:, None]).any(axis=1)
        uncertain = np.array(self.uncertain)
        calibration = reliability(probs.max(axis=1), top1)
        return {
            "model": self.model,
            "songs": len(labels),
            "top1": int(top1.sum()), "top1_accuracy": float(top1.mean()),
            "top3": int(top3.sum()), "top3_accuracy": float(top3.mean()),
            "single_frame_accuracy": sum(self.frame_hits) / sum(self.frame_counts),
            "per_genre_recall": {g: float(top1[labels == g].mean()) for g in sorted(set(self.labels))},
            "predictions": {f"{i}:{label}": str(pred) for i, (label, pred) in enumerate(zip(labels, ranked[:, 0]))},
            "misses": [f"{name} ({label}): " + ", ".join(f"{g} {p:.2f}" for g, p in zip(row[:3], np.sort(song)[::-1]))
                       for name, label, row, song, hit in zip(self.files, labels, ranked, probs, top1) if not hit],
            "unsure": int(uncertain.sum()),
            "right_when_sure": float(top1[~uncertain].mean()) if (~uncertain).any() else None,
            "right_when_unsure": float(top1[uncertain].mean()) if uncertain.any() else None,
            "ece": calibration["ece"], "reliability": calibration["bins"],
            "confidence_ece": reliability(np.array(self.confidence), top1)["ece"],
            "unreadable_files": self.errors,
            "seconds_per_file": round(self.seconds / max(len(labels), 1), 3),
        }


def evaluate(files: list[tuple[str, Path]], name: str, genre_model: GenreModel) -> Evaluation:
    evaluation = Evaluation(model=name, genres=list(genre_model.genres))
    started = time.perf_counter()
    for label, path in files:
        try:
            result = inference.classify_file(path, genre_model)
        except InvalidAudio as exc:
            evaluation.errors[str(path)] = str(exc)
            continue
        evaluation.labels.append(label)
        evaluation.files.append(path.name)
        evaluation.song_probs.append(result.song_probs)
        evaluation.frame_hits.append(int(sum(result.genres[i] == label for i in result.frame_probs.argmax(axis=1))))
        evaluation.frame_counts.append(len(result.frame_probs))
        evaluation.uncertain.append(result.uncertain)
        evaluation.confidence.append(result.confidence)
    evaluation.seconds = time.perf_counter() - started
    return evaluation


def top1_by_level(files: list[tuple[str, Path]], genre_model: GenreModel) -> dict[int, str]:
    """Top-1 accuracy with each file played LEVEL_SHIFTS_DB louder (float WAV copies, so nothing clips); files
    soundfile cannot read are left out."""
    right, counted = dict.fromkeys(LEVEL_SHIFTS_DB, 0), 0
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "shifted.wav"
        for label, path in files:
            try:
                audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
            except soundfile.LibsndfileError:
                continue
            counted += 1
            for shift in LEVEL_SHIFTS_DB:
                soundfile.write(copy, audio * 10 ** (shift / 20), rate, subtype="FLOAT")
                right[shift] += inference.classify_file(copy, genre_model).top(1)[0][0] == label
    return {shift: f"{hits}/{counted}" for shift, hits in right.items()}


def confusion(report: dict, genres: list[str]) -> list[list[int]]:
    matrix = np.zeros((len(genres), len(genres)), dtype=int)
    for key, predicted in report["predictions"].items():
        label = key.split(":", 1)[1]
        if label in genres:
            matrix[genres.index(label), genres.index(predicted)] += 1
    return matrix.tolist()


def print_table(reports: list[dict]) -> None:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.0f} %"

    rows = [("songs", lambda r: str(r["songs"])),
            ("top-1", lambda r: f"{r['top1']}/{r['songs']} ({pct(r['top1_accuracy'])})"),
            ("top-3", lambda r: f"{r['top3']}/{r['songs']} ({pct(r['top3_accuracy'])})"),
            ("single-frame accuracy", lambda r: pct(r["single_frame_accuracy"])),
            ("ECE, top probability", lambda r: f"{r['ece']:.3f}"),
            ("ECE, song confidence", lambda r: f"{r['confidence_ece']:.3f}"),
            ("marked unsure", lambda r: str(r["unsure"])),
            ("right when sure / unsure", lambda r: f"{pct(r['right_when_sure'])} / {pct(r['right_when_unsure'])}"),
            ("seconds per file", lambda r: str(r["seconds_per_file"]))]
    genres = sorted({g for r in reports for g in r["per_genre_recall"]})
    rows += [(f"recall {g}", lambda r, g=g: pct(r["per_genre_recall"].get(g))) for g in genres]
    width = max(24, *(len(r["model"]) + 2 for r in reports))
    print("| " + " | ".join(["metric".ljust(26)] + [r["model"].ljust(width) for r in reports]) + " |")
    print("|" + "|".join(["-" * 28] + ["-" * (width + 2) for _ in reports]) + "|")
    for label, cell in rows:
        print("| " + " | ".join([label.ljust(26)] + [cell(r).ljust(width) for r in reports]) + " |")


def cross_validate(folder: Path) -> None:
    """The default model's pipeline, cross-validated by song on ``folder`` (see classifier.fusion_training)."""
    from classifier.fusion_training import CV_FOLDS, FitProgress, cross_validated_fusion, head_fits
    from classifier.management.commands.build_default_model import SEED
    from classifier.training import prepare_inputs
    from classifier.training_options import FUSION_HEAD_EPOCHS, TrainingOptions

    options = TrainingOptions(mode="fusion", epochs=FUSION_HEAD_EPOCHS, seed=SEED)
    songs, skipped, _ = prepare_inputs(folder_dataset(folder), options, lambda progress: None)
    progress = FitProgress(lambda progress: None, head_fits(songs) - 1, options.epochs)
    fusion, metrics = cross_validated_fusion(songs, options, progress)
    print(f"grouped {CV_FOLDS}-fold cross-validation on {folder}, {len(songs)} songs ({len(skipped)} unreadable):")
    print(f"  single excerpts (one frame): top-1 {metrics['frame_accuracy']:.1%}, n = {metrics['validation_excerpts']}")
    print(f"  frame sequences of 1-24 frames stitched from several excerpts: top-1 {metrics['song_accuracy']:.1%}, "
          f"top-3 {metrics['song_top3_accuracy']:.1%}, n = {metrics['validation_songs']}")
    print(f"  ECE {metrics['reliability']['ece']:.3f}; confidence threshold {fusion.confidence_threshold:.2f} "
          f"marks {1 - metrics['confident_share']:.0%} unsure, right {metrics['confident_accuracy']:.0%} "
          f"of the time when sure; labelled excerpts called a tag-only genre {metrics['extra_genre_false_alarms']:.1%}")
    if metrics["tag_only_genres"]:
        print(f"  genre holdouts (each genre left out of a head, found as a tag-only genre): expected top-1 "
              f"{metrics['genre_balanced_accuracy']:.1%} with every genre equally common")
        for genre, row in metrics["tag_only_genres"].items():
            print(f"    {genre:<12} as tag-only genre: top-1 {row['recall']:.0%}, top-3 {row['top3_recall']:.0%}")
    for genre, row in metrics["per_genre"].items():
        print(f"  recall {genre:<12} {row['recall']:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, help="DIR/<genre>/<files>")
    parser.add_argument("--model", metavar="NAME", help=f"the trained model to compare (default: {DEFAULT_MODEL})")
    parser.add_argument("--artefact", metavar="DIR", type=Path,
                        help="evaluate the model saved in DIR (e.g. a fresh build_default_model --output) instead")
    parser.add_argument("--cv", metavar="TRAIN_DIR", type=Path, help="cross-validate the default model's pipeline")
    parser.add_argument("--levels", action="store_true", help="also measure top-1 with the files played louder and "
                        f"quieter ({', '.join(f'{shift:+d}' for shift in LEVEL_SHIFTS_DB)} dB)")
    args = parser.parse_args()
    if not args.directory and not args.cv:
        parser.error("give DIR, --cv TRAIN_DIR, or both")
    inference.configure_threads()
    if args.cv:
        cross_validate(args.cv)
    if not args.directory:
        return
    if args.artefact:
        name, trained = args.artefact.name, load_genre_model(args.artefact)
    else:
        call_command("migrate", verbosity=0)  # registers the shipped model on a fresh checkout
        version = ModelVersion.objects.filter(name=args.model or DEFAULT_MODEL).first()
        if version is None:
            raise SystemExit(f"no model named {args.model or DEFAULT_MODEL!r}")
        name, trained = version.name, inference.load_version(version)
    models = [(name, trained), ("pretrained-tags", build_pretrained_tags_model()),
              ("naive tag sum", NaiveTagSumModel(trained.settings))]
    files = [(clip.genre, clip.path) for clip in folder_dataset(args.directory)]
    out_dir = Path(settings.VAR_DIR) / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    reports = []
    for name, genre_model in models:
        report = evaluate(files, name, genre_model).report()
        stem = out_dir / f"accuracy-{name.replace(' ', '-')}-{stamp}"
        genres = list(genre_model.genres)
        draw_confusion(confusion(report, genres), genres, stem.with_suffix(".confusion.png"), f"{name}: {args.directory.name}")
        draw_reliability(report["reliability"], stem.with_suffix(".reliability.png"),
                         f"{name}: ECE {report['ece']:.3f} (n = {report['songs']})")
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1))
        reports.append(report)
    print(f"{args.directory}: {len(files)} files; {describe_cpu()}\n")
    print_table(reports)
    for report in reports:
        print(f"\n{report['model']} misses (true genre in brackets; its top 3):")
        print("\n".join(f"  {miss}" for miss in report["misses"]) or "  none")
    print(f"\nconfusion matrices, reliability diagrams and JSON reports: {out_dir}/accuracy-*-{stamp}.*")
    if args.levels:
        print("\ntop-1 with the files played louder or quieter (dB):")
        print("| " + " | ".join(["model".ljust(24)] + [f"{shift:+d} dB".ljust(7) for shift in LEVEL_SHIFTS_DB]) + " |")
        print("|" + "|".join(["-" * 26] + ["-" * 9 for _ in LEVEL_SHIFTS_DB]) + "|")
        for name, genre_model in models:
            cells = top1_by_level(files, genre_model)
            print("| " + " | ".join([name.ljust(24)] + [cells[shift].ljust(7) for shift in LEVEL_SHIFTS_DB]) + " |")


if __name__ == "__main__":
    main()
