"""/rest/<method> and /rest/<method>.view, each answering GET and form POST."""

from django.urls import re_path

from . import views
from .endpoint import unknown_method

ENDPOINTS = {
    "ping": views.ping,
    "getLicense": views.get_license,
    "getOpenSubsonicExtensions": views.get_open_subsonic_extensions,
    "getUser": views.get_user,
    "getScanStatus": views.get_scan_status,
    "startScan": views.get_scan_status,  # nothing to start: uploads are added as they arrive
    "getMusicFolders": views.get_music_folders,
    "getIndexes": views.get_indexes,
    "getMusicDirectory": views.get_music_directory,
    "getArtists": views.get_artists,
    "getArtist": views.get_artist,
    "getAlbum": views.get_album,
    "getSong": views.get_song,
    "getGenres": views.get_genres,
    "search3": views.search3,
    "getAlbumList2": views.get_album_list2,
    "getRandomSongs": views.get_random_songs,
    "getSongsByGenre": views.get_songs_by_genre,
    "getSimilarSongs": views.get_similar_songs,
    "getSimilarSongs2": views.get_similar_songs2,
    "getStarred2": views.get_starred2,
    "getNowPlaying": views.get_now_playing,
    "stream": views.stream,
    "download": views.download,
    "getCoverArt": views.get_cover_art,
    "scrobble": views.scrobble,
    "star": views.star,
    "unstar": views.unstar,
    "setRating": views.set_rating,
    "getPlaylists": views.get_playlists,
    "getPlaylist": views.get_playlist,
    "createPlaylist": views.create_playlist,
    "updatePlaylist": views.update_playlist,
    "deletePlaylist": views.delete_playlist,
}

urlpatterns = [
    *(re_path(rf"^{name}(?:\.view)?$", view, name=f"subsonic-{name}") for name, view in ENDPOINTS.items()),
    re_path(r"^(?P<name>[^/]*?)(?:\.view)?/?$", unknown_method),
]
