"""Re-create the model SKYBEAT ships, from the labelled excerpts of genre-train (GTZAN layout):

    manage.py build_default_model ../shared/data/genre-train

Trains the ``crnn-fusion`` model with a fixed seed (a few minutes on 2 cores) and writes it, with its model card,
confusion matrix and reliability diagram, to ``classifier/shipped/<name>/``, and the excerpts' frame features
(derived numbers, no audio) to ``classifier/shipped/base-set.npz``, the base set that library training adds to
the library's labels. Nothing is registered in the database: migrations register the shipped model.
"""

import shutil
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier.datasets import TrainingError, folder_dataset
from classifier.management.commands.train_classifier import progress_line

DEFAULT_MODEL_NAME = "genre-crnn-gtzan"
SEED = 11


class Command(BaseCommand):
    help = "Re-create the shipped default genre model (crnn-fusion) from a labelled folder such as genre-train."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path, help="labelled folder: FOLDER/<genre>/<audio files>")
        parser.add_argument("--output", type=Path, default=None,
                            help="folder to write the model into (default: classifier/shipped/<name>)")
        parser.add_argument("--base-set", type=Path, default=None,
                            help="where to write the base set's features (default: classifier/shipped/base-set.npz)")
        parser.add_argument("--name", default=DEFAULT_MODEL_NAME)

    def handle(self, *args, folder, output, base_set, name, **opts):
        from classifier.fusion_training import BASE_SET, fit_fusion_model, save_base_set
        from classifier.artefacts import SHIPPED_MODELS_DIR
        from classifier.inference import configure_threads
        from classifier.model_cards import write_artefact
        from classifier.training import prepare_inputs
        from classifier.training_options import FUSION_HEAD_EPOCHS, TrainingOptions

        configure_threads()
        options = TrainingOptions(mode="fusion", epochs=FUSION_HEAD_EPOCHS, seed=SEED, name=name)
        started = time.monotonic()
        show = lambda progress: self.stdout.write(progress_line(progress))  # noqa: E731
        try:
            songs, skipped, cache_stats = prepare_inputs(folder_dataset(folder), options, show)
            model, card = fit_fusion_model(name, songs, skipped, cache_stats, options, "genre-train", show, started)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        directory = output or SHIPPED_MODELS_DIR / name
        shutil.rmtree(directory, ignore_errors=True)  # a shipped artefact is one plain folder, not versions
        directory.mkdir(parents=True)
        write_artefact(model, card, directory)
        base = save_base_set(songs, base_set or BASE_SET)
        metrics = card["metrics"]
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {directory} and {base}: cross-validated song accuracy {metrics['song_accuracy']:.1%} "
            f"(top 3 {metrics['song_top3_accuracy']:.1%}), single excerpts {metrics['frame_accuracy']:.1%}, "
            f"ECE {metrics['reliability']['ece']:.3f}, confidence threshold {metrics['confidence_threshold']:.2f}."))
