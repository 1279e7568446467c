"""Seed each known genre's place on the valence–arousal plane and its mood weights (moods/defaults.py).

The numbers and the study behind each row are documented in docs/moods.md ("Genre defaults"). Runs after the
classifier's migration that creates the default genres; a default genre still missing is created by slug, and any
other existing genre gets the neutral placeholder (0, 0, equal weights) flagged for review.
"""

from django.db import migrations

from moods.defaults import DEFAULTS, seed_defaults


def seed(apps, schema_editor):
    seed_defaults(apps.get_model("catalog", "Genre"), apps.get_model("moods", "GenreMood"))


def unseed(apps, schema_editor):
    apps.get_model("moods", "GenreMood").objects.filter(genre__slug__in=DEFAULTS).delete()


class Migration(migrations.Migration):
    dependencies = [("moods", "0001_initial"), ("classifier", "0002_pretrained_tags_model")]

    operations = [migrations.RunPython(seed, unseed)]
