"""Train a genre model from a labelled folder (GTZAN layout) or from the library's labels.

    manage.py train_classifier DIR                 # DIR/<genre>/*.wav|au|mp3|ogg|flac
    manage.py train_classifier --from-library      # songs people labelled on the site

The new model is registered inactive; activate it in the admin.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.models import TrainingJob
from classifier.datasets import TrainingError
from classifier.training_options import DEFAULT_SKIP_S, Progress, TrainingOptions

BAR_WIDTH = 24


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise ValueError(text)
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(text)
    return value


def progress_line(progress: Progress) -> str:
    filled = round(progress.fraction * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    metrics = "  ".join(f"{name} {value:.3f}" for name, value in progress.metrics.items())
    eta = f"  ~{progress.eta_s:.0f} s left" if progress.eta_s is not None else ""
    return f"[{bar}] {progress.fraction:4.0%} {progress.stage}  {metrics}{eta}".rstrip()


class Command(BaseCommand):
    help = "Train a genre classifier on labelled audio and register it as an inactive model version."

    def add_arguments(self, parser):
        parser.add_argument("folder", nargs="?", type=Path, help="labelled folder: FOLDER/<genre>/<audio files>")
        parser.add_argument("--from-library", action="store_true", help="train on the labels people gave on the site")
        parser.add_argument("--genres", default="", help="comma-separated genre slugs (default: all that qualify)")
        parser.add_argument("--mode", default=TrainingJob.Mode.FUSION, help=f"one of {', '.join(TrainingJob.Mode.values)}")
        parser.add_argument("--epochs", type=positive_int, default=30,
                            help="maximum epochs (early stopping may end sooner)")
        parser.add_argument("--val-fraction", type=fraction, default=0.2, help="share of songs per genre held out")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-frames", type=positive_int, default=None, help="at most this many frames per song")
        parser.add_argument("--skip-s", type=non_negative, default=DEFAULT_SKIP_S,
                            help="seconds skipped at each end of a song (use ~0.5 for clips under 30 s)")
        parser.add_argument("--name", default="", help="model version name (default: generated)")

    def handle(self, *args, folder, from_library, genres, mode, epochs, val_fraction, seed, max_frames, skip_s, name,
               **opts):
        from classifier import datasets, training

        if bool(folder) == bool(from_library):
            raise CommandError("give either a labelled folder or --from-library (one of them)")
        genre_list = [slug.strip() for slug in genres.split(",") if slug.strip()] or None
        try:
            options = TrainingOptions(mode=mode, epochs=epochs, val_fraction=val_fraction, seed=seed,
                                      max_frames=max_frames, skip_s=skip_s, name=name)
            if from_library:
                clips, source = datasets.library_dataset(genre_list), "library"
            else:
                clips, source = datasets.folder_dataset(folder, genre_list), str(folder.resolve())
            result = training.train(clips, options, source=source, on_progress=self.show)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        metrics = result.model_version.metrics
        self.stdout.write(self.style.SUCCESS(
            f"Registered {result.model_version.name} (inactive): song accuracy {metrics['song_accuracy']:.1%}, "
            f"single-frame {metrics['frame_accuracy']:.1%} on {metrics['validation_songs']} validation songs; "
            f"embedding cache {result.cache_stats['hits']} hits, {result.cache_stats['misses']} misses."
        ))
        self.stdout.write(f"Model card: {result.card_path}")

    def show(self, progress: Progress) -> None:
        self.stdout.write(progress_line(progress))
