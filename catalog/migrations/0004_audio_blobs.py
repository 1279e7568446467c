"""Audio stored once per SHA-256 (catalog.AudioBlob), each song pointing at its blob.

Every existing song has its own sha256 (it was unique), so each gets a blob made of its file columns, which
then leave the song table. The files stay where they are: the blob takes over the song's file name.

Not atomic as a whole: on PostgreSQL a table whose rows were just given a (deferred) foreign key cannot be
altered in the same transaction, so the data step runs in its own transaction between the schema steps.
Reversible while no two songs share a blob.
"""

import django.db.models.deletion
from django.db import migrations, models

#: The file columns that move from the song to its blob (same names on both).
MOVED_FIELDS = ("sha256", "size_bytes", "audio_format", "duration_s", "sample_rate_hz", "channels")


def blobs_for_existing_songs(apps, schema_editor) -> None:
    """One blob per existing song (and so per sha256), made of the song's file columns."""
    Song = apps.get_model("catalog", "Song")
    AudioBlob = apps.get_model("catalog", "AudioBlob")
    for song in Song.objects.filter(audio__isnull=True).order_by("pk").iterator():
        blob, _ = AudioBlob.objects.get_or_create(
            sha256=song.sha256,
            defaults={"file": song.audio_file.name, **{name: getattr(song, name) for name in MOVED_FIELDS[1:]}},
        )
        Song.objects.filter(pk=song.pk).update(audio=blob)


def file_columns_from_blobs(apps, schema_editor) -> None:
    """Back to the file columns on the song (fails on the sha256 unique constraint if songs share a blob)."""
    Song = apps.get_model("catalog", "Song")
    for song in Song.objects.select_related("audio").order_by("pk").iterator():
        Song.objects.filter(pk=song.pk).update(
            audio_file=song.audio.file.name, **{name: getattr(song.audio, name) for name in MOVED_FIELDS}
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("catalog", "0002_song_genre_visible_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="AudioBlob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sha256", models.CharField(max_length=64, unique=True)),
                ("file", models.FileField(max_length=300, upload_to="audio/")),
                ("size_bytes", models.BigIntegerField()),
                ("audio_format", models.CharField(help_text="Detected from the content: wav, mp3, ogg, opus, flac, m4a", max_length=16)),
                ("duration_s", models.FloatField(blank=True, help_text="Duration in seconds", null=True)),
                ("sample_rate_hz", models.PositiveIntegerField(blank=True, null=True)),
                ("channels", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name="song",
            name="audio",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="songs", to="catalog.audioblob"),
        ),
        # Nullable first, so that going back can re-add them to a filled table before copying the values in.
        migrations.AlterField(model_name="song", name="sha256", field=models.CharField(max_length=64, null=True, unique=True)),
        migrations.AlterField(model_name="song", name="audio_file", field=models.FileField(max_length=300, null=True, upload_to="audio/")),
        migrations.AlterField(model_name="song", name="size_bytes", field=models.BigIntegerField(null=True)),
        migrations.AlterField(model_name="song", name="audio_format", field=models.CharField(max_length=16, null=True)),
        migrations.RunPython(blobs_for_existing_songs, file_columns_from_blobs, atomic=True),
        migrations.AlterField(
            model_name="song",
            name="audio",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="songs", to="catalog.audioblob"),
        ),
        *[migrations.RemoveField(model_name="song", name=name) for name in ("audio_file", *MOVED_FIELDS)],
        migrations.AddConstraint(
            model_name="song",
            constraint=models.UniqueConstraint(fields=("audio", "uploaded_by"), name="one_song_per_uploader_and_audio"),
        ),
    ]
