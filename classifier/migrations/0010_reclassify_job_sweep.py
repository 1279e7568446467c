from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("classifier", "0009_default_crnn_model"),
    ]

    operations = [
        migrations.AddField(
            model_name="reclassifyjob",
            name="heartbeat_at",
            field=models.DateTimeField(blank=True, help_text="The job's latest progress or resumption", null=True),
        ),
        migrations.AddField(
            model_name="reclassifyjob",
            name="resumes",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Times the sweep sent its songs again since its latest progress"),
        ),
        migrations.AddField(
            model_name="reclassifyjob",
            name="message",
            field=models.TextField(blank=True, help_text="What went wrong, or how it was resumed"),
        ),
    ]
