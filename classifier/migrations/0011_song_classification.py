"""Which model version classified each song: the classifier's own record (the catalog keeps the genre vector)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0008_song_genre_uncertain_disco"),
        ("classifier", "0010_reclassify_job_sweep"),
    ]

    operations = [
        migrations.CreateModel(
            name="SongClassification",
            fields=[
                ("song", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="classification", serialize=False, to="catalog.song")),
                ("model_version", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                    related_name="classifications", to="classifier.modelversion")),
            ],
        ),
    ]
