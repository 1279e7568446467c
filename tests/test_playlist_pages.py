"""Playlists on the web: the playlists page, a playlist's page (the library's song rows), adding from song rows,
editing, removing, deleting; and a browser playing a whole playlist in the mini-player."""

import re

import pytest
from django.urls import reverse

from catalog.models import Playlist, Song
from catalog.playlists import add_songs, create_playlist, remove_positions
from tests.catalog_factories import fast_passwords, make_song, media_root  # noqa: F401
from tests.subsonic_helpers import tagged_file, upload
from tests.test_catalog_browser import log_in

pytestmark = [pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def songs(db, user):
    return [make_song(user, title=title) for title in ("Alpha", "Beta", "Gamma")]


@pytest.mark.django_db
def test_the_playlists_page_lists_yours_and_public_ones_and_creates(client, user, other_user, songs):
    create_playlist(other_user, "Bob's secret")
    create_playlist(other_user, "Bob's party", [songs[0]], public=True)
    client.force_login(user)
    page = client.get(reverse("catalog:playlist-list")).content.decode()
    assert "Bob&#x27;s party" in page and "secret" not in page
    response = client.post(reverse("catalog:playlist-list"), {"name": "Focus", "comment": "deep work"})
    playlist = Playlist.objects.get(name="Focus")
    assert response.status_code == 302 and response["Location"] == playlist.get_absolute_url()
    assert playlist.owner == user and playlist.comment == "deep work" and not playlist.public
    assert client.post(reverse("catalog:playlist-list"), {"name": ""}).status_code == 400


@pytest.mark.django_db
def test_a_playlist_page_uses_the_library_song_rows(client, user, songs):
    playlist = create_playlist(user, "Mix", [songs[2], songs[0]])
    client.force_login(user)
    page = client.get(playlist.get_absolute_url()).content.decode()
    rows = re.findall(r'data-play data-song="(\d+)" data-src="([^"]+)" data-title="([^"]+)"', page)
    assert rows == [(str(songs[2].pk), reverse("catalog:song-stream", args=[songs[2].pk]), "Gamma"),
                    (str(songs[0].pk), reverse("catalog:song-stream", args=[songs[0].pk]), "Alpha")]
    assert "data-play-all" in page and "data-song-list" in page  # the player's queue plays the listed rows
    assert page.count("data-remove-from-playlist") == 2


@pytest.mark.django_db
def test_adding_from_song_rows(client, user, songs):
    client.force_login(user)
    library = client.get(reverse("catalog:song-list")).content.decode()
    assert library.count("data-add-to-playlist") == 3 and '<option value="new">New playlist</option>' in library
    response = client.post(reverse("catalog:playlist-add"),
                           {"song": songs[0].pk, "playlist": "new", "next": reverse("catalog:song-list")})
    assert response.status_code == 302 and response["Location"] == reverse("catalog:song-list")
    playlist = Playlist.objects.get(owner=user)
    client.post(reverse("catalog:playlist-add"), {"song": songs[1].pk, "playlist": playlist.pk,
                                                  "next": "https://evil.example/"})
    assert [entry.song for entry in playlist.entries.all()] == [songs[0], songs[1]]
    assert f'<option value="{playlist.pk}">New playlist</option>' in client.get(reverse("catalog:song-list")).content.decode()


@pytest.mark.django_db
def test_nobody_adds_to_or_edits_anothers_playlist_or_adds_a_song_they_cannot_see(client, user, other_user, songs):
    theirs = create_playlist(other_user, "Theirs", public=True)
    hidden = make_song(other_user, visibility=Song.Visibility.PRIVATE)
    client.force_login(user)
    assert client.post(reverse("catalog:playlist-add"), {"song": songs[0].pk, "playlist": theirs.pk}).status_code == 404
    assert client.post(reverse("catalog:playlist-add"), {"song": hidden.pk, "playlist": "new"}).status_code == 404
    assert client.post(reverse("catalog:playlist-add"), {"song": "x", "playlist": "new"}).status_code == 404
    assert client.post(reverse("catalog:playlist-add"), {"song": songs[0].pk, "playlist": "x"}).status_code == 404
    for huge in ({"song": "9" * 30, "playlist": "new"}, {"song": songs[0].pk, "playlist": "9" * 30}):
        assert client.post(reverse("catalog:playlist-add"), huge).status_code == 404
    for name in ("playlist-edit", "playlist-delete", "playlist-remove"):
        assert client.post(reverse(f"catalog:{name}", args=[theirs.pk]), {"name": "Mine"}).status_code == 404
    assert not theirs.entries.exists() and Playlist.objects.filter(name="Theirs").exists()
    assert not Playlist.objects.filter(owner=user).exists()
    assert client.get(reverse("catalog:playlist-detail", args=[create_playlist(other_user, "Private").pk])).status_code == 404


@pytest.mark.django_db
def test_edit_remove_and_delete(client, user, songs):
    playlist = create_playlist(user, "Mix", songs)
    client.force_login(user)
    client.post(reverse("catalog:playlist-edit", args=[playlist.pk]), {"name": "Renamed", "public": "on"})
    playlist.refresh_from_db()
    assert (playlist.name, playlist.public) == ("Renamed", True)
    client.post(reverse("catalog:playlist-remove", args=[playlist.pk]), {"position": 1})
    assert [entry.song for entry in playlist.entries.all()] == [songs[0], songs[2]]
    response = client.post(reverse("catalog:playlist-remove", args=[playlist.pk]), {"position": 9}, follow=True)
    assert "no longer in the playlist" in response.content.decode()
    client.post(reverse("catalog:playlist-delete", args=[playlist.pk]))
    assert not Playlist.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitors_see_public_playlists_but_change_nothing(client, other_user, songs):
    public = create_playlist(other_user, "Open", [songs[0]], public=True)
    assert client.get(public.get_absolute_url()).status_code == 200
    assert "data-add-to-playlist" not in client.get(public.get_absolute_url()).content.decode()
    assert client.post(reverse("catalog:playlist-list"), {"name": "Sneaky"}).status_code == 302
    assert client.post(reverse("catalog:playlist-add"), {"song": songs[0].pk, "playlist": "new"}).status_code == 302
    assert Playlist.objects.count() == 1


@pytest.mark.django_db
def test_playlist_services_keep_positions_in_order_and_limits(user, songs, settings):
    playlist = create_playlist(user, "Positions", songs)
    assert remove_positions(playlist, user, [0, 2]) == 2
    add_songs(playlist, [songs[0]])
    assert [entry.song for entry in playlist.entries.all()] == [songs[1], songs[0]]
    with pytest.raises(IndexError):
        remove_positions(playlist, user, [-1])
    with pytest.raises(ValueError):
        create_playlist(user, " \x00 ")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_add_from_the_library_then_play_the_whole_playlist(live_server, page, user, media_root, tmp_path):
    first = upload(user, tagged_file(tmp_path, "one.mp3", title="One", artist="A", album="B", seconds=1.0))
    second = upload(user, tagged_file(tmp_path, "two.mp3", title="Two", artist="A", album="B", seconds=1.0))
    log_in(page, live_server, user)
    page.goto(f"{live_server.url}{reverse('catalog:song-list')}")
    page.locator(f'tr[data-song-row="{first.pk}"] [data-add-to-playlist]').click()  # into a new playlist
    page.wait_for_selector(".message.success")
    playlist = Playlist.objects.get(owner=user)
    row = page.locator(f'tr[data-song-row="{second.pk}"]')
    row.locator("select[name=playlist]").select_option(str(playlist.pk))
    row.locator("[data-add-to-playlist]").click()
    page.wait_for_selector('.message.success:has-text("“Two” added")')
    assert [entry.song_id for entry in playlist.entries.all()] == [first.pk, second.pk]

    page.goto(f"{live_server.url}{playlist.get_absolute_url()}")
    page.click("[data-play-all]")
    page.wait_for_function("document.getElementById('player-title').textContent === 'One'")
    page.wait_for_function("document.getElementById('player-title').textContent === 'Two'",
                           timeout=15_000)  # One (1 s) ended, the queue went on to Two
    audio = page.locator("#player-audio")
    assert audio.get_attribute("src").endswith(reverse("catalog:song-stream", args=[second.pk]))
