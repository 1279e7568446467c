"""Artists and albums as entities, playlists, stars and ratings; existing songs are linked to their artist and album
from their stored artist, album and year, by the rules of catalog.library as of this migration (a copy: a
migration never calls live code).
"""

import unicodedata

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

UNKNOWN_ARTIST = "Unknown artist"
UNKNOWN_ALBUM = "Unknown album"
NAME_LENGTH = 300


def name_key(name):
    """The identity of a name: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())[:NAME_LENGTH]


def link_songs(apps, schema_editor):
    """One artist per normalised name, one album per artist and normalised title (the earliest year seen)."""
    Song, Artist, Album = (apps.get_model("catalog", name) for name in ("Song", "Artist", "Album"))
    for song in Song.objects.filter(library_album__isnull=True).order_by("pk").iterator():
        artist_name, title = song.artist or UNKNOWN_ARTIST, song.album or UNKNOWN_ALBUM
        artist = Artist.objects.get_or_create(name_key=name_key(artist_name), defaults={"name": artist_name})[0]
        album = Album.objects.get_or_create(artist=artist, title_key=name_key(title),
                                            defaults={"title": title, "year": song.year})[0]
        if album.year is None and song.year is not None:
            Album.objects.filter(pk=album.pk).update(year=song.year)
        Song.objects.filter(pk=song.pk).update(library_artist=artist, library_album=album)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_audio_blobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Album',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=300)),
                ('title_key', models.CharField(help_text='The title case-folded, NFKC, single spaces', max_length=300)),
                ('year', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
            options={
                'ordering': ['title_key', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Artist',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=300)),
                ('name_key', models.CharField(help_text='The name case-folded, NFKC, single spaces', max_length=300, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['name_key', 'id'],
            },
        ),
        migrations.AddField(
            model_name='song',
            name='disc_number',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='song',
            name='track_number',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='song',
            name='library_album',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='songs', to='catalog.album'),
        ),
        migrations.AddField(
            model_name='album',
            name='artist',
            field=models.ForeignKey(help_text='The album artist', on_delete=django.db.models.deletion.CASCADE, related_name='albums', to='catalog.artist'),
        ),
        migrations.AddField(
            model_name='song',
            name='library_artist',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='songs', to='catalog.artist'),
        ),
        migrations.CreateModel(
            name='Playlist',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200)),
                ('comment', models.TextField(blank=True, max_length=2000)),
                ('public', models.BooleanField(default=False, help_text='Other members may see and play it (never the private songs in it)')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('changed_at', models.DateTimeField(auto_now=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='playlists', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.CreateModel(
            name='PlaylistEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('position', models.PositiveIntegerField()),
                ('playlist', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='entries', to='catalog.playlist')),
                ('song', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='playlist_entries', to='catalog.song')),
            ],
            options={
                'ordering': ['position', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Rating',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('value', models.PositiveSmallIntegerField(validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(5)])),
                ('album', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.album')),
                ('artist', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.artist')),
                ('song', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.song')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='%(class)ss', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='Star',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('album', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.album')),
                ('artist', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.artist')),
                ('song', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.song')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='%(class)ss', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.AddConstraint(
            model_name='album',
            constraint=models.UniqueConstraint(fields=('artist', 'title_key'), name='one_album_per_artist_title'),
        ),
        migrations.AddIndex(
            model_name='playlist',
            index=models.Index(fields=['owner', 'name'], name='catalog_pla_owner_i_60dc93_idx'),
        ),
        migrations.AddIndex(
            model_name='playlist',
            index=models.Index(fields=['public', 'name'], name='catalog_pla_public_0bfe7e_idx'),
        ),
        migrations.AddIndex(
            model_name='playlistentry',
            index=models.Index(fields=['playlist', 'position'], name='catalog_pla_playlis_4d06d2_idx'),
        ),
        migrations.AddConstraint(
            model_name='rating',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('song__isnull', False), models.Q(('album__isnull', False), _negated=True), models.Q(('artist__isnull', False), _negated=True)), models.Q(models.Q(('song__isnull', False), _negated=True), ('album__isnull', False), models.Q(('artist__isnull', False), _negated=True)), models.Q(models.Q(('song__isnull', False), _negated=True), models.Q(('album__isnull', False), _negated=True), ('artist__isnull', False)), _connector='OR'), name='rating_marks_one_thing'),
        ),
        migrations.AddConstraint(
            model_name='rating',
            constraint=models.UniqueConstraint(condition=models.Q(('song__isnull', False)), fields=('user', 'song'), name='rating_once_per_song'),
        ),
        migrations.AddConstraint(
            model_name='rating',
            constraint=models.UniqueConstraint(condition=models.Q(('album__isnull', False)), fields=('user', 'album'), name='rating_once_per_album'),
        ),
        migrations.AddConstraint(
            model_name='rating',
            constraint=models.UniqueConstraint(condition=models.Q(('artist__isnull', False)), fields=('user', 'artist'), name='rating_once_per_artist'),
        ),
        migrations.AddConstraint(
            model_name='rating',
            constraint=models.CheckConstraint(condition=models.Q(('value__gte', 1), ('value__lte', 5)), name='rating_one_to_five'),
        ),
        migrations.AddConstraint(
            model_name='star',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('song__isnull', False), models.Q(('album__isnull', False), _negated=True), models.Q(('artist__isnull', False), _negated=True)), models.Q(models.Q(('song__isnull', False), _negated=True), ('album__isnull', False), models.Q(('artist__isnull', False), _negated=True)), models.Q(models.Q(('song__isnull', False), _negated=True), models.Q(('album__isnull', False), _negated=True), ('artist__isnull', False)), _connector='OR'), name='star_marks_one_thing'),
        ),
        migrations.AddConstraint(
            model_name='star',
            constraint=models.UniqueConstraint(condition=models.Q(('song__isnull', False)), fields=('user', 'song'), name='star_once_per_song'),
        ),
        migrations.AddConstraint(
            model_name='star',
            constraint=models.UniqueConstraint(condition=models.Q(('album__isnull', False)), fields=('user', 'album'), name='star_once_per_album'),
        ),
        migrations.AddConstraint(
            model_name='star',
            constraint=models.UniqueConstraint(condition=models.Q(('artist__isnull', False)), fields=('user', 'artist'), name='star_once_per_artist'),
        ),
        migrations.RunPython(link_songs, migrations.RunPython.noop),
    ]
