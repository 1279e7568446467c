"""`manage.py classify PATH…`: the genres of audio files, for people without the web UI."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from classifier import inference
from classifier.models import ModelVersion
from skybeat.errors import InvalidAudio


class Command(BaseCommand):
    help = "Classify audio files with the active model (or --model NAME) and print each file's top genres."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Audio files (wav, mp3, ogg, flac, …)")
        parser.add_argument("--model", metavar="NAME", help="A model version's name (default: the active model)")
        parser.add_argument("--top", type=int, default=3, help="How many genres to print per file (default 3)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="One JSON object per line and file")

    def handle(self, *args, paths: list[str], model: str | None, top: int, as_json: bool, **options):
        version = self._version(model)
        try:
            genre_model = inference.load_version(version)
        except Exception as exc:  # whatever stops the model loading, say so instead of a traceback
            raise CommandError(f"No usable model: could not load {version.name}: {exc}") from exc
        failed = 0
        for path in paths:
            try:
                result = self._classify(Path(path), genre_model)
            except InvalidAudio as exc:
                failed += 1
                self._report_error(path, str(exc), as_json=as_json)
                continue
            if as_json:
                self.stdout.write(self._as_json(path, version.name, result))
            else:
                genres = ", ".join(f"{slug} {p:.2f}" for slug, p in result.top(top))
                self.stdout.write(f"{path}: {genres}  ({len(result.frame_starts_s)} frames, {result.duration_s:.1f} s)")
        if failed:
            raise CommandError(f"{failed} of {len(paths)} file(s) could not be classified")

    def _version(self, name: str | None) -> ModelVersion:
        version = ModelVersion.objects.filter(name=name).first() if name else ModelVersion.get_active()
        if version is None:
            names = ", ".join(ModelVersion.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No model named {name!r} (known: {names})" if name else "No model is active")
        return version

    @staticmethod
    def _classify(path: Path, genre_model) -> inference.FileClassification:
        if not path.is_file():
            raise InvalidAudio("No such file")
        return inference.classify_file(path, genre_model)

    def _report_error(self, path: str, message: str, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({"path": path, "error": message}))
        self.stderr.write(f"{path}: error: {message}")

    @staticmethod
    def _as_json(path: str, model_name: str, result: inference.FileClassification) -> str:
        return json.dumps({
            "path": path,
            "model": model_name,
            "top_genre": result.top(1)[0][0],
            "genres": {slug: round(p, 4) for slug, p in result.top(len(result.genres))},
            "frames": len(result.frame_starts_s),
            "duration_s": round(result.duration_s, 3),
        })
