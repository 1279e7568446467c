"""Playlist pages: yours and the public ones, a playlist to play, and adding songs from any song list.

Logic lives in catalog.playlists; these views translate HTTP.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import playlists
from .forms import PlaylistForm
from .models import Playlist
from .views import visible_song

NEW_PLAYLIST = "new"
NEW_PLAYLIST_NAME = "New playlist"
MAX_KEY_DIGITS = 18  # beyond any primary key, and within what every database takes


def visible_playlist(request: HttpRequest, pk: int) -> Playlist:
    return get_object_or_404(playlists.visible_playlists(request.user).select_related("owner"), pk=pk)


def editable_playlist(request: HttpRequest, pk: int) -> Playlist:
    playlist = visible_playlist(request, pk)
    if not playlists.can_edit(playlist, request.user):
        raise Http404("No playlist matches the given query.")
    return playlist


@require_http_methods(["GET", "POST"])
def playlist_list(request: HttpRequest) -> HttpResponse:
    form = PlaylistForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.path)
        if form.is_valid():
            playlist = playlists.create_playlist(request.user, **form.cleaned_data)
            messages.success(request, f"Playlist “{playlist.name}” created.")
            return redirect(playlist)
    shown = playlists.with_counts(playlists.visible_playlists(request.user).select_related("owner"), request.user)
    return render(request, "catalog/playlist_list.html", {"playlists": shown, "form": form, "nav": "playlists"},
                  status=400 if form.errors else 200)


def playlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = visible_playlist(request, pk)
    editable = playlists.can_edit(playlist, request.user)
    return render(request, "catalog/playlist_detail.html", {
        "playlist": playlist,
        "songs": playlists.playlist_songs(playlist, request.user, ("uploaded_by",), song_table=True),
        "editable": editable,
        "remove_from": playlist if editable else None,
        "form": PlaylistForm(initial={"name": playlist.name, "comment": playlist.comment, "public": playlist.public})
        if editable else None,
        "nav": "playlists",
    })


@require_POST
@login_required
def playlist_edit(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = editable_playlist(request, pk)
    form = PlaylistForm(request.POST)
    if form.is_valid():
        playlists.update_playlist(playlist, **form.cleaned_data)
        messages.success(request, "Playlist saved.")
    else:
        messages.error(request, "A playlist needs a name of at most 200 characters.")
    return redirect(playlist)


@require_POST
@login_required
def playlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = editable_playlist(request, pk)
    playlists.delete_playlist(playlist)
    messages.success(request, f"Playlist “{playlist.name}” deleted.")
    return redirect("catalog:playlist-list")


@require_POST
@login_required
def playlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = editable_playlist(request, pk)
    try:
        playlists.remove_positions(playlist, request.user, [int(request.POST.get("position", ""))])
    except (ValueError, IndexError):
        messages.error(request, "That song is no longer in the playlist.")
    return redirect(playlist)


@require_POST
@login_required
def playlist_add(request: HttpRequest) -> HttpResponse:
    """Add a song (POST song) to one of your playlists (POST playlist: its id, or "new")."""
    song = visible_song(request, _primary_key(request.POST.get("song", ""), "song"))
    choice = request.POST.get("playlist", NEW_PLAYLIST)
    try:
        if choice == NEW_PLAYLIST:
            playlist = playlists.create_playlist(request.user, NEW_PLAYLIST_NAME, [song])
        else:
            playlist = editable_playlist(request, _primary_key(choice, "playlist"))
            playlists.add_songs(playlist, [song])
        messages.success(request, f"“{song.title}” added to “{playlist.name}”.")
    except ValueError as exc:  # the playlist is full
        messages.error(request, str(exc))
    return redirect(_next_page(request) or "catalog:playlist-list")


def _primary_key(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_KEY_DIGITS):
        raise Http404(f"No {what} matches the given query.")
    return int(value)


def _next_page(request: HttpRequest) -> str | None:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    return target if target and allowed else None
