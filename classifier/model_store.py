"""Genre models on disk: save one as a new live version of its artefact directory (classifier.artefacts), load
the live version back, checking its manifest, checksums and backbone versions (see classifier.genre_model for
what an artefact holds)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .artefacts import live_dir, save_version
from .features import FrameSettings
from .genre_model import (
    FORMAT_VERSION, MANIFEST, CrnnFeatureExtractorGenreModel, CrnnFineTuneGenreModel, CrnnFromScratchGenreModel,
    FusionGenreModel, GenreModel, ModelLoadError, PretrainedTagsGenreModel,
)

LOAD_ATTEMPTS = 5  # of load_genre_model, while saves keep switching the live version under it

ARCHITECTURES: dict[str, type[GenreModel]] = {
    cls.architecture: cls for cls in (PretrainedTagsGenreModel, CrnnFeatureExtractorGenreModel,
                                      CrnnFineTuneGenreModel, CrnnFromScratchGenreModel, FusionGenreModel)
}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_genre_model(model: GenreModel, directory: str | Path) -> Path:
    """Save ``model`` as the new live version of the artefact directory ``directory`` (classifier.artefacts: a
    loader sees the old version or the new one, whole). Returns the new version's folder."""
    return save_version(directory, lambda version: write_model_files(model, version))


def write_model_files(model: GenreModel, directory: Path) -> None:
    """Write ``model``'s files and their manifest into the existing empty folder ``directory``."""
    from classifier.backbones import backbone_version

    extra = model._save_files(directory)
    manifest = {
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture,
        "genres": model.genres,
        "frame_settings": model.settings.to_dict(),
        "backbone_versions": {name: backbone_version(name) for name in extra["backbones"]},
        "files": {p.name: file_sha256(p) for p in sorted(directory.iterdir())},
        **extra,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=1))


def _read_manifest(directory: Path) -> dict:
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
    except FileNotFoundError as exc:
        raise ModelLoadError(f"no {MANIFEST} in {directory}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"unreadable {MANIFEST}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ModelLoadError(f"{MANIFEST} is not a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelLoadError(f"artefact format {version!r} is not supported (this SKYBEAT reads {FORMAT_VERSION})")
    return manifest


def _check_files(directory: Path, manifest: dict) -> None:
    from classifier.backbones import backbone_version

    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise ModelLoadError(f"missing file {name}")
        if file_sha256(path) != digest:
            raise ModelLoadError(f"{name} is corrupt (checksum mismatch)")
    for name, version in manifest["backbone_versions"].items():
        try:
            installed = backbone_version(name)
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"backbone {name}: {exc}") from exc
        if installed != version:
            raise ModelLoadError(f"the model was made with backbone {version}, but {installed} is installed")


def load_genre_model(directory: str | Path) -> GenreModel:
    """The genre model saved in the artefact directory ``directory``. Raises ModelLoadError with the reason if it
    cannot be used.

    The live version is read; should it fail while a save switched versions (and removed the one being read),
    the new live version is loaded instead: an error is reported only for a version that is still live.
    """
    for _ in range(LOAD_ATTEMPTS - 1):
        version = live_dir(directory)
        try:
            return _load_version(version)
        except ModelLoadError:
            if live_dir(directory) == version:
                raise
    return _load_version(live_dir(directory))


def _load_version(directory: Path) -> GenreModel:
    manifest = _read_manifest(directory)
    architecture = manifest.get("architecture")
    if architecture not in ARCHITECTURES:
        raise ModelLoadError(f"unknown architecture {architecture!r}")
    try:
        cls = ARCHITECTURES[architecture]
        genres = manifest["genres"]
        if not genres or not all(isinstance(g, str) for g in genres):
            raise ModelLoadError("the manifest's genres are not a list of slugs")
        settings = FrameSettings.from_dict(manifest["frame_settings"])
        _check_files(directory, manifest)
        return cls._load_files(directory, manifest, genres, settings)
    except ModelLoadError:
        raise
    except KeyError as exc:
        raise ModelLoadError(f"the manifest lacks {exc}") from exc
    except Exception as exc:  # anything a damaged artefact can raise (Keras, JSON, shapes): a reason, not a crash
        raise ModelLoadError(f"{type(exc).__name__}: {exc}") from exc
