"""The "pretrained-tags" model version, active, so a fresh install classifies songs (the default genres are the
catalog's, catalog/migrations/0001).

Only database rows, with the data as of this migration (never live code): the model's artefact (its manifest and
tag map) is written by the first worker that loads it (classifier.inference.load_version).
"""

from django.db import migrations

NAME = "pretrained-tags"
# The default genres that the musicnn taggers have tags for, in the order of the model's outputs.
GENRES = ["blues", "classical", "country", "electronic", "folk", "hip-hop", "jazz", "metal", "pop", "punk",
          "rnb-soul", "rock", "ambient", "dance", "funk"]
FRAME_SETTINGS = {"sample_rate_hz": 16000, "n_mels": 96, "n_fft": 512, "hop_length": 256, "frame_length": 187,
                  "skip_s": 5.0, "max_frames": 40}
CARD = {
    "summary": "The pretrained musicnn taggers (MSD and MagnaTagATune) with their genre tags mapped onto SKYBEAT's "
               "default genres and calibrated; no training on this library.",
    "limits": "Genres without a tag in either tagger (reggae) are never predicted.",
}


def create(apps, schema_editor):
    ModelVersion = apps.get_model("classifier", "ModelVersion")
    version, _ = ModelVersion.objects.get_or_create(name=NAME, defaults={
        "architecture": "pretrained-tags", "genres": GENRES, "feature_params": FRAME_SETTINGS,
        "artefact_path": NAME, "model_card": CARD})
    if not ModelVersion.objects.filter(active=True).exists():
        ModelVersion.objects.filter(pk=version.pk).update(active=True)


def remove(apps, schema_editor):
    apps.get_model("classifier", "ModelVersion").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("classifier", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
