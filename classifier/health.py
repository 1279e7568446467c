"""Whether a model can be used, judged cheaply from its files' manifest: no TensorFlow, no hashing (the web
process's admin and /healthz ask)."""

import json

from .artefacts import artefact_dir, live_artefact_dir, shipped_manifest
from .models import ModelVersion


def artefact_problem(version: ModelVersion) -> str | None:
    """Why ``version``'s files cannot be loaded, or None."""
    from .genre_model import FORMAT_VERSION, MANIFEST  # numpy and the audio stack, only when asked

    if not version.artefact_path:
        return "the model has no artefact path"
    directory = live_artefact_dir(version)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        if version.architecture == ModelVersion.Architecture.PRETRAINED_TAGS or shipped_manifest(version):
            return f"not loaded yet: a worker writes {artefact_dir(version)} when it first loads the model"
        return f"the model files are missing: no {manifest_path}"
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format_version") != FORMAT_VERSION:
            return f"unsupported artefact format {manifest.get('format_version')!r}"
        missing = [name for name in manifest["files"] if not (directory / name).is_file()]
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
        return f"the model files are corrupt: unreadable {MANIFEST} ({exc})"
    if missing:
        return f"the model files are incomplete: missing {', '.join(missing)}"
    return None


def active_model_status() -> dict:
    """Health of the active model: its manifest and what the workers last saw (the web never loads TF)."""
    model = ModelVersion.get_active()
    if model is None:
        return {"loaded": False, "name": None, "error": "no model is active"}
    error = model.load_error or artefact_problem(model)
    return {"loaded": not error, "name": model.name, "error": error or None}
