"""The default genres and the "pretrained-tags" model version, active, so a fresh install classifies songs.

Only database rows: the model's artefact (its manifest and tag map) is written by the first worker that loads
it (classifier.inference.load_version); TensorFlow is never imported here.
"""

from django.db import migrations

from classifier.registry import PRETRAINED_NAME, install_defaults


def create(apps, schema_editor):
    install_defaults(apps.get_model("catalog", "Genre"), apps.get_model("classifier", "ModelVersion"))


def remove(apps, schema_editor):
    apps.get_model("classifier", "ModelVersion").objects.filter(name=PRETRAINED_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("classifier", "0001_initial"), ("catalog", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
