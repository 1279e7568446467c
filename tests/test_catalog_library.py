"""Artists and albums derived from tags at ingest, the data migration for existing songs, stars and ratings, and
cover art (embedded pictures in every tag format, placeholders)."""

import base64
from io import BytesIO

import mutagen
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from mutagen.flac import Picture
from mutagen.mp4 import MP4Cover
from PIL import Image

from catalog import library
from catalog.covers import embedded_picture, placeholder, scaled_picture
from catalog.models import Album, Artist, Rating, Song, Star
from tests import audio_fixtures
from tests.catalog_factories import fast_passwords, make_song, media_root, write_song  # noqa: F401
from tests.subsonic_helpers import library as built_library  # noqa: F401
from tests.subsonic_helpers import png_bytes, tagged_file, upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]


def test_ingest_links_songs_to_normalised_artists_and_albums(built_library):
    first, second, guest = built_library.first, built_library.second, built_library.guest
    assert first.library_artist == second.library_artist  # "The Band" and "the  band"
    assert first.library_artist.name == "The Band"
    assert first.library_album == second.library_album and first.library_album.title == "First Album"
    assert first.library_album.year == 2001
    assert (first.track_number, second.track_number) == (1, 2)
    assert guest.library_artist.name == "Guest Singer"
    assert guest.library_album.artist.name == "Various Artists"  # the album artist tag
    assert (guest.track_number, guest.disc_number) == (5, 2)
    assert Album.objects.filter(title_key="first album").count() == 1


def test_songs_without_tags_get_unknown_artist_and_album(user, tmp_path):
    song = upload(user, write_song(tmp_path / "bare.wav"))
    assert song.library_artist.name == library.UNKNOWN_ARTIST
    assert song.library_album.title == library.UNKNOWN_ALBUM and song.library_album.artist == song.library_artist


@pytest.mark.parametrize("value, number", [("3", 3), ("3/12", 3), ("(4, 10)", 4), ("", None), ("0", None),
                                           ("x", None), ("12345", None)])
def test_track_numbers(value, number):
    assert library.tag_number(value) == number


def test_names_are_normalised():
    assert library.name_key("  The\tBEATLES ") == library.name_key("the beatles")
    assert library.name_key("ｆｕｌｌ ｗｉｄｔｈ") == "full width"


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_links_existing_songs():
    executor = MigrationExecutor(connection)
    before = [("catalog", "0002_song_genre_visible_index")]
    latest = executor.loader.graph.leaf_nodes()  # every app: those depending on the library come back too
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldSong = old.get_model("catalog", "Song")
    common = {"audio_file": "audio/x.wav", "size_bytes": 1, "audio_format": "wav"}
    OldSong.objects.create(title="A", artist="Old Timer", album="Vintage", year=1960, sha256="a" * 64, **common)
    OldSong.objects.create(title="B", artist="old timer", album="VINTAGE", sha256="b" * 64, **common)
    OldSong.objects.create(title="C", artist="", album="", sha256="c" * 64, **common)
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    a, b, c = Song.objects.order_by("title")
    assert a.library_album == b.library_album and a.library_album.year == 1960
    assert a.library_artist.name == "Old Timer" and a.library_album.artist == a.library_artist
    assert c.library_artist.name == library.UNKNOWN_ARTIST and c.library_album.title == library.UNKNOWN_ALBUM


def test_stars_and_ratings_mark_one_thing_once(user):
    song = make_song(user)
    artist, album = library.entities_for("Someone", "", "Something", None)
    for item in (song, album, artist):
        library.star(user, item)
        library.star(user, item)
        library.set_rating(user, item, 4)
        library.set_rating(user, item, 5)
    assert Star.objects.filter(user=user).count() == 3
    assert sorted(Rating.objects.filter(user=user).values_list("value", flat=True)) == [5, 5, 5]
    library.set_rating(user, song, 0)
    library.unstar(user, album)
    assert Rating.objects.filter(user=user).count() == 2 and Star.objects.filter(user=user).count() == 2
    with pytest.raises(ValueError):
        library.set_rating(user, song, 6)


def _flac_with_picture(path, data: bytes):
    audio = mutagen.File(path)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", data
    audio.add_picture(picture)
    audio.save()


def _ogg_with_picture(path, data: bytes):
    audio = mutagen.File(path)
    picture = Picture()
    picture.type, picture.mime, picture.data = 3, "image/png", data
    audio["metadata_block_picture"] = [base64.b64encode(picture.write()).decode()]
    audio.save()


@pytest.mark.parametrize("name, embed", [("cover.flac", _flac_with_picture), ("cover.ogg", _ogg_with_picture),
                                         ("cover.opus", _ogg_with_picture)])
def test_embedded_pictures_of_flac_and_ogg(user, tmp_path, name, embed):
    path = write_song(tmp_path / name)
    embed(path, png_bytes((10, 200, 10)))
    assert embedded_picture(upload(user, path)) == png_bytes((10, 200, 10))


def test_embedded_pictures_of_mp3_and_m4a(user, tmp_path):
    mp3 = tagged_file(tmp_path, "c.mp3", title="T", artist="A", album="B", cover=png_bytes((1, 2, 3)))
    assert embedded_picture(upload(user, mp3)) == png_bytes((1, 2, 3))
    m4a = audio_fixtures.ffmpeg_encode(write_song(tmp_path / "src.wav"), tmp_path / "c.m4a", "-c:a", "aac")
    audio = mutagen.File(m4a)
    audio["covr"] = [MP4Cover(png_bytes((4, 5, 6)), imageformat=MP4Cover.FORMAT_PNG)]
    audio.save()
    assert embedded_picture(upload(user, m4a)) == png_bytes((4, 5, 6))


def test_songs_without_pictures_or_files_have_none(user, tmp_path):
    assert embedded_picture(upload(user, write_song(tmp_path / "plain.wav"))) is None
    assert embedded_picture(make_song(user)) is None  # a row whose file is not there


def test_pictures_are_scaled_and_hostile_ones_refused():
    big = png_bytes(size=800)
    assert scaled_picture(big, None).data == big
    small = scaled_picture(big, 100)
    assert Image.open(BytesIO(small.data)).size == (100, 100) and small.content_type == "image/jpeg"
    assert scaled_picture(b"\x89PNG not really", 100) is None
    huge = BytesIO()
    Image.new("1", (7000, 7000)).save(huge, "PNG")  # 49 megapixels in a few kilobytes
    assert scaled_picture(huge.getvalue(), 64) is None


def test_placeholders_are_stable_images_of_the_asked_size():
    one, again, other = placeholder("album 1", 120), placeholder("album 1", 120), placeholder("album 2", 120)
    assert one == again and one.data != other.data and one.content_type == "image/png"
    assert Image.open(BytesIO(one.data)).size == (120, 120)
    assert Image.open(BytesIO(placeholder("x", 100_000).data)).size == (2048, 2048)


def test_artist_and_album_entities_are_shared_not_duplicated(user, other_user, tmp_path):
    for owner, name in ((user, "a.mp3"), (other_user, "b.mp3")):
        upload(owner, tagged_file(tmp_path, name, title=name, artist="Shared Artist", album="Shared Album"))
    assert Artist.objects.filter(name_key="shared artist").count() == 1
    assert Album.objects.get(title_key="shared album").songs.count() == 2
    assert Song.objects.filter(library_album__isnull=True).count() == 0


def test_admins_find_artists_albums_and_playlists_in_the_admin(client, django_user_model, built_library):
    from catalog.playlists import create_playlist

    admin = django_user_model.objects.create_superuser("root", password="r-Long-pass-phrase-4")
    create_playlist(admin, "Staff picks", [built_library.first])
    client.force_login(admin)
    for model, text in (("artist", "Various Artists"), ("album", "First Album"), ("playlist", "Staff picks")):
        page = client.get(f"/admin/catalog/{model}/")
        assert page.status_code == 200 and text in page.content.decode()
