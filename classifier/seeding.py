"""The rows a fresh install starts with, for code that needs them again (a flushed test database, the soak bench).

The migrations seed their own copies of this data (catalog 0001: the default genres; classifier 0002: the
pretrained-tags model), as it was when they were written.
"""

from catalog.default_genres import install_default_genres

from .features import FrameSettings
from .genre_model import GENRE_TAGS
from .models import ModelVersion

PRETRAINED_NAME = "pretrained-tags"


def install_defaults() -> ModelVersion:
    """Create the default genres and the "pretrained-tags" model version, active unless another one is
    (idempotent); returns the pretrained-tags version."""
    install_default_genres()
    version, _ = ModelVersion.objects.get_or_create(
        name=PRETRAINED_NAME,
        defaults={
            "architecture": ModelVersion.Architecture.PRETRAINED_TAGS,
            "genres": list(GENRE_TAGS),
            "feature_params": FrameSettings().to_dict(),
            "artefact_path": PRETRAINED_NAME,
            "model_card": {
                "summary": "The pretrained musicnn taggers (MSD and MagnaTagATune) with their genre tags mapped "
                "onto SKYBEAT's default genres and calibrated; no training on this library.",
                "limits": "Genres without a tag in either tagger (reggae) are never predicted.",
            },
        },
    )
    if not ModelVersion.objects.filter(active=True).exists():
        ModelVersion.objects.filter(pk=version.pk).update(active=True)
    return version
