"""Benchmark the three training modes on a labelled folder with one fixed split.

    .venv/bin/python bench/train.py DIR                # DIR/<genre>/*.wav|au|mp3|ogg|flac (GTZAN layout)
    .venv/bin/python bench/train.py --synthetic 20     # 20 synthetic clips per genre under var/bench/

Songs are split once (by song, stratified by genre, from --seed) into a test set and the rest, which each mode
splits again the same way into training and validation. Each run is a fresh process so its wall time and peak
memory are its own. Prints, side by side: wall time, peak memory, test song-level and single-frame accuracy per
mode, the multi-frame gain per genre, and the feature-extractor's first vs second run (embedding cache).
Models are registered in the bench's own database under var/bench/, never the site's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
MODES = ("feature-extractor", "fine-tune", "from-scratch")


def setup_django(cache_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("SKYBEAT_VAR_DIR", str(BENCH_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skybeat.settings")
    os.environ.pop("DATABASE_URL", None)  # the bench's own SQLite database, never the site's
    import django
    from django.conf import settings

    django.setup()
    settings.SKYBEAT_EMBEDDING_CACHE_DIR = cache_dir


def run_mode(mode: str, args: dict, test_keys: list[str], cache_dir: str, out: multiprocessing.Queue) -> None:
    """One training run in this (fresh) process; puts its figures on ``out``."""
    setup_django(Path(cache_dir))
    from classifier.features import song_frames
    from classifier.genre_model import configure_tensorflow_threads
    from classifier.model_store import load_genre_model
    from classifier.datasets import folder_dataset
    from classifier.training import train
    from classifier.training_options import TrainingOptions
    from django.conf import settings

    configure_tensorflow_threads(args["threads"])
    clips = folder_dataset(Path(args["folder"]))
    test = [clip for clip in clips if clip.key in set(test_keys)]
    options = TrainingOptions(mode=mode, epochs=args["epochs"], val_fraction=args["val_fraction"], seed=args["seed"],
                              skip_s=args["skip_s"], max_frames=args["max_frames"], patience=args["patience"])
    started = time.monotonic()
    result = train([clip for clip in clips if clip.key not in set(test_keys)], options, source=args["folder"])
    wall_s = time.monotonic() - started
    model = load_genre_model(Path(settings.SKYBEAT_MODELS_DIR) / result.model_version.artefact_path)
    index = {genre: i for i, genre in enumerate(model.genres)}
    per_genre = {genre: {"songs": 0, "song_hits": 0, "frames": 0, "frame_hits": 0} for genre in model.genres}
    for clip in test:
        frames = song_frames(clip.path, model.settings).frames
        _, song_probs = model.predict(frames)
        alone = [model.predict(frames[i:i + 1])[1].argmax() for i in range(len(frames))]
        row = per_genre[clip.genre]
        row["songs"] += 1
        row["song_hits"] += int(song_probs.argmax() == index[clip.genre])
        row["frames"] += len(alone)
        row["frame_hits"] += sum(int(p == index[clip.genre]) for p in alone)
    out.put({
        "mode": mode, "wall_s": wall_s, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "val_song_accuracy": result.model_version.metrics["song_accuracy"],
        "epochs_run": result.model_version.metrics["epochs_run"], "cache": result.cache_stats,
        "song_accuracy": sum(r["song_hits"] for r in per_genre.values()) / max(1, len(test)),
        "frame_accuracy": sum(r["frame_hits"] for r in per_genre.values())
        / max(1, sum(r["frames"] for r in per_genre.values())),
        "per_genre": per_genre,
    })


def in_fresh_process(mode: str, args: dict, test_keys: list[str], cache_dir: Path) -> dict:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=run_mode, args=(mode, args, test_keys, str(cache_dir), out))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise SystemExit(f"the {mode} run failed (exit code {process.exitcode})")
    return out.get()


def synthetic_folder(per_genre: int, seconds: float, seed: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.audio_fixtures import write_labelled_folder

    folder = BENCH_DIR / f"synthetic-{per_genre}x{seconds:g}s-seed{seed}"
    if not folder.exists():
        staging = folder.with_name(folder.name + ".partial")
        write_labelled_folder(staging, per_genre, seconds=seconds, seed=seed)
        staging.rename(folder)
    return folder


def print_report(results: list[dict], second_run: dict | None, n_test: int) -> None:
    from bench.machine import describe_cpu

    print(f"\n{describe_cpu()}\nTest set: {n_test} songs (never seen in training or validation)\n")
    header = f"{'':<26}" + "".join(f"{r['mode']:>20}" for r in results)
    print(header)
    print("-" * len(header))
    rows = [
        ("wall time (s)", lambda r: f"{r['wall_s']:.1f}"),
        ("peak memory (MB)", lambda r: f"{r['peak_mb']:.0f}"),
        ("epochs run", lambda r: str(r["epochs_run"])),
        ("validation song accuracy", lambda r: f"{r['val_song_accuracy']:.1%}"),
        ("test song accuracy", lambda r: f"{r['song_accuracy']:.1%}"),
        ("test single-frame acc.", lambda r: f"{r['frame_accuracy']:.1%}"),
    ]
    for label, value in rows:
        print(f"{label:<26}" + "".join(f"{value(r):>20}" for r in results))
    print("\nMulti-frame gain per genre on the test set (song-level recall minus single-frame recall):")
    for genre in results[0]["per_genre"]:
        cells = []
        for r in results:
            g = r["per_genre"][genre]
            song, frame = g["song_hits"] / max(1, g["songs"]), g["frame_hits"] / max(1, g["frames"])
            cells.append(f"{song - frame:+.1%} ({song:.0%}/{frame:.0%})")
        print(f"  {genre:<24}" + "".join(f"{c:>20}" for c in cells))
    if second_run is not None:
        first = next(r for r in results if r["mode"] == "feature-extractor")
        print(f"\nFeature-extractor, embedding cache: first run {first['wall_s']:.1f} s "
              f"({first['cache']['misses']} misses), second run {second_run['wall_s']:.1f} s "
              f"({second_run['cache']['hits']} hits) -> {first['wall_s'] / second_run['wall_s']:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="labelled folder, FOLDER/<genre>/<audio files>")
    parser.add_argument("--synthetic", type=int, metavar="N", help="generate N synthetic clips per genre instead")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of synthetic clips")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated modes to run")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-s", type=float, default=None, help="seconds skipped at song ends (default: 5, "
                        "or 0.5 for synthetic clips)")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="TensorFlow threads per run")
    args = parser.parse_args()
    if bool(args.folder) == bool(args.synthetic):
        parser.error("give a labelled folder or --synthetic N (one of them)")
    folder = synthetic_folder(args.synthetic, args.seconds, args.seed) if args.synthetic else args.folder.resolve()
    skip_s = args.skip_s if args.skip_s is not None else (0.5 if args.synthetic else 5.0)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")

    cache_dir = BENCH_DIR / f"embeddings-{time.strftime('%Y%m%d-%H%M%S')}"  # cold cache for the first run
    setup_django(cache_dir)
    from django.core.management import call_command

    from classifier.datasets import folder_dataset, split_by_song

    call_command("migrate", verbosity=0)
    rest, test = split_by_song(folder_dataset(folder), args.test_fraction, args.seed)
    print(f"Benchmark on {folder}: {len(rest)} songs for training + validation, {len(test)} for test; "
          f"modes {', '.join(modes)}; up to {args.epochs} epochs; {args.threads} TensorFlow threads")
    run_args = {"folder": str(folder), "epochs": args.epochs, "val_fraction": args.val_fraction, "seed": args.seed,
                "skip_s": skip_s, "max_frames": args.max_frames, "patience": args.patience, "threads": args.threads}
    test_keys = [clip.key for clip in test]
    results = []
    for mode in modes:
        print(f"... {mode}", flush=True)
        results.append(in_fresh_process(mode, run_args, test_keys, cache_dir))
    second = None
    if "feature-extractor" in modes:
        print("... feature-extractor again (embedding cache warm)", flush=True)
        second = in_fresh_process("feature-extractor", run_args, test_keys, cache_dir)
    print_report(results, second, len(test))
    print("\n" + json.dumps({"results": results, "second_feature_extractor_run": second}, default=str))


if __name__ == "__main__":
    main()
