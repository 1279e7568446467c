"""The Subsonic endpoints: each reads its parameters and calls a service (browsing, lists, media, annotation,
playlists, system). Authentication, formats and errors are the :func:`subsonic_view` decorator's."""

from __future__ import annotations

from . import annotation, browsing, lists, media, playlists, similar, system
from .endpoint import Call, subsonic_view
from .lookup import visible_song

MAX_PAGE = 500


def _page(call: Call, size_name: str, offset_name: str, default: int) -> dict:
    return {"size": call.params.integer(size_name, default, minimum=0, maximum=MAX_PAGE),
            "offset": call.params.integer(offset_name, 0, minimum=0)}


# --- System -------------------------------------------------------------------------------------------------------

@subsonic_view
def ping(call: Call) -> None:
    return None


@subsonic_view
def get_license(call: Call) -> dict:
    return system.licence()


@subsonic_view(public=True)
def get_open_subsonic_extensions(call: Call) -> dict:
    return system.extensions()


@subsonic_view
def get_user(call: Call) -> dict:
    return system.member(call.user, call.params.get("username") or call.user.get_username())


@subsonic_view
def get_scan_status(call: Call) -> dict:
    return system.scan_status(call.user)


# --- Browsing -----------------------------------------------------------------------------------------------------

@subsonic_view
def get_music_folders(call: Call) -> dict:
    return browsing.music_folders()


@subsonic_view
def get_indexes(call: Call) -> dict:
    browsing.check_music_folder(call.params.get("musicFolderId"))
    return browsing.indexes(call.user, call.params.integer("ifModifiedSince"))


@subsonic_view
def get_music_directory(call: Call) -> dict:
    return browsing.music_directory(call.user, call.params.required("id"))


@subsonic_view
def get_artists(call: Call) -> dict:
    browsing.check_music_folder(call.params.get("musicFolderId"))
    return browsing.artists(call.user)


@subsonic_view
def get_artist(call: Call) -> dict:
    return browsing.artist(call.user, call.params.required("id"))


@subsonic_view
def get_album(call: Call) -> dict:
    return browsing.album(call.user, call.params.required("id"))


@subsonic_view
def get_song(call: Call) -> dict:
    song = visible_song(call.user, call.params.required("id"), *browsing.SONG_RELATIONS)
    return {"song": browsing.songs_payload(call.user, [song])[0]}


@subsonic_view
def get_genres(call: Call) -> dict:
    return browsing.genres(call.user)


@subsonic_view
def search3(call: Call) -> dict:
    browsing.check_music_folder(call.params.get("musicFolderId"))
    counts = {kind: call.params.integer(f"{kind}Count", 20, minimum=0, maximum=MAX_PAGE) for kind in ("artist", "album", "song")}
    offsets = {kind: call.params.integer(f"{kind}Offset", 0, minimum=0) for kind in ("artist", "album", "song")}
    return browsing.search3(call.user, call.params.get("query") or "", counts, offsets)


# --- Lists --------------------------------------------------------------------------------------------------------

@subsonic_view
def get_album_list2(call: Call) -> dict:
    params = call.params
    browsing.check_music_folder(params.get("musicFolderId"))
    return lists.album_list(call.user, params.required("type"), **_page(call, "size", "offset", 10),
                            from_year=params.integer("fromYear"), to_year=params.integer("toYear"),
                            genre=params.get("genre") or "")


@subsonic_view
def get_random_songs(call: Call) -> dict:
    params = call.params
    browsing.check_music_folder(params.get("musicFolderId"))
    return lists.random_songs(call.user, size=params.integer("size", 10, minimum=0, maximum=MAX_PAGE),
                              genre=params.get("genre") or "", from_year=params.integer("fromYear"),
                              to_year=params.integer("toYear"))


@subsonic_view
def get_songs_by_genre(call: Call) -> dict:
    page = _page(call, "count", "offset", 10)
    return lists.songs_by_genre(call.user, call.params.required("genre"), count=page["size"], offset=page["offset"])


@subsonic_view
def get_similar_songs(call: Call) -> dict:
    return similar.similar_songs(call.user, call.params.required("id"), _similar_count(call), "similarSongs")


@subsonic_view
def get_similar_songs2(call: Call) -> dict:
    """The spec names an artist id; clients (knuckles) send song ids too: both, and albums, work."""
    return similar.similar_songs(call.user, call.params.required("id"), _similar_count(call), "similarSongs2")


def _similar_count(call: Call) -> int:
    return call.params.integer("count", 50, minimum=0, maximum=MAX_PAGE)


@subsonic_view
def get_starred2(call: Call) -> dict:
    return lists.starred(call.user)


@subsonic_view
def get_now_playing(call: Call) -> dict:
    return lists.now_playing(call.user)


# --- Media --------------------------------------------------------------------------------------------------------

@subsonic_view
def stream(call: Call):
    params = call.params
    song = visible_song(call.user, params.required("id"))
    plan = media.plan_transcoding(song, params.get("format"), params.integer("maxBitRate", 0, minimum=0),
                                  params.integer("timeOffset", 0, minimum=0))
    return media.stream(call.request, song, plan)


@subsonic_view
def download(call: Call):
    return media.download(call.request, visible_song(call.user, call.params.required("id")))


@subsonic_view
def get_cover_art(call: Call):
    return media.cover_art(call.user, call.params.required("id"), call.params.integer("size", minimum=1))


# --- Annotation ---------------------------------------------------------------------------------------------------

@subsonic_view
def scrobble(call: Call) -> None:
    params = call.params
    annotation.scrobble(call.user, params.required_all("id"), params.integers("time"),
                        params.boolean("submission", True), call.client)


@subsonic_view
def star(call: Call) -> None:
    annotation.star(call.user, call.params.all("id"), call.params.all("albumId"), call.params.all("artistId"))


@subsonic_view
def unstar(call: Call) -> None:
    annotation.unstar(call.user, call.params.all("id"), call.params.all("albumId"), call.params.all("artistId"))


@subsonic_view
def set_rating(call: Call) -> None:
    annotation.set_rating(call.user, call.params.required("id"), call.params.required_integer("rating"))


# --- Playlists ----------------------------------------------------------------------------------------------------

@subsonic_view
def get_playlists(call: Call) -> dict:
    return playlists.playlists(call.user, call.params.get("username"))


@subsonic_view
def get_playlist(call: Call) -> dict:
    return playlists.playlist(call.user, call.params.required("id"))


@subsonic_view
def create_playlist(call: Call) -> dict:
    params = call.params
    return playlists.create(call.user, name=(params.get("name") or "").strip(),
                            playlist_id=(params.get("playlistId") or "").strip(), song_ids=params.all("songId"))


@subsonic_view
def update_playlist(call: Call) -> None:
    params = call.params
    playlists.update(call.user, params.required("playlistId"), name=params.get("name"), comment=params.get("comment"),
                     public=params.boolean("public"), add_ids=params.all("songIdToAdd"),
                     remove_positions=params.integers("songIndexToRemove"))


@subsonic_view
def delete_playlist(call: Call) -> None:
    playlists.delete(call.user, call.params.required("id"))
