"""The model registry: which ModelVersion is active, and whether it can be used."""

from .models import ModelVersion


def active_model_status() -> dict:
    """Health of the active model as the workers last saw it (the web process never loads TensorFlow)."""
    model = ModelVersion.get_active()
    if model is None:
        return {"loaded": False, "name": None, "error": "no model is active"}
    return {"loaded": not model.load_error, "name": model.name, "error": model.load_error or None}
