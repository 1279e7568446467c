"""Library pages: browse, search, a song, upload (no-JavaScript fallback), history, and the audio stream."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from skybeat.errors import REFUSED_BODIES, refused_body_message

from . import extensions, read_cache, services
from .audio_probe import SUPPORTED_TEXT
from .forms import LabelForm, SongFilterForm, VisibilityForm
from .ingest import ingest_uploads, too_large_message
from .models import Genre, GenreLabel, Song
from .streaming import stream_song
from .uploads import max_upload_bytes

SONGS_PER_PAGE = 50
PLAYS_PER_PAGE = 100


def visible_song(request: HttpRequest, pk: int, *relations: str) -> Song:
    """The song if this user may see it; 404 otherwise (never revealing that it exists)."""
    return get_object_or_404(Song.objects.visible_to(request.user).select_related(*relations), pk=pk)


def song_page_song(request: HttpRequest, pk: int) -> Song:
    """:func:`visible_song` with what the song page and the other apps' panels on it show."""
    return get_object_or_404(extensions.extend_song_list(
        Song.objects.visible_to(request.user).select_related("audio", "top_genre", "uploaded_by")
    ), pk=pk)


def editable_song(request: HttpRequest, pk: int) -> Song:
    song = visible_song(request, pk)
    if not song.can_edit(request.user):
        raise Http404("No song matches the given query.")
    return song


def genre_list(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/genre_list.html", {"genres": services.genres_with_counts(request.user), "nav": "browse"})


def songs_page(request: HttpRequest, songs, per_page: int = SONGS_PER_PAGE, scopes: list[str] | None = None):
    """The requested page of ``songs``, their count cached (read_cache)."""
    paginator = read_cache.CachedCountPaginator(songs, per_page, request=request, scopes=scopes or [read_cache.SONGS])
    return paginator.get_page(request.GET.get("page"))


def genre_detail(request: HttpRequest, slug: str) -> HttpResponse:
    def context() -> dict:
        genre = get_object_or_404(Genre, slug=slug)
        return {"genre": genre, "page": songs_page(request, services.genre_songs(request.user, genre)), "nav": "browse"}

    return read_cache.cached_page(request, "genre", read_cache.viewer_scopes(request.user), "catalog/genre_detail.html",
                                  context)


def song_list(request: HttpRequest) -> HttpResponse:
    def context() -> dict:
        form = SongFilterForm(request.GET)
        form.is_valid()  # invalid filters are shown with their error and left out
        try:
            songs = services.search_songs(request.user, **form.filters())
        except extensions.SongFilterError as exc:  # e.g. an unknown mood: shown like the other invalid filters, left out
            form.add_error(exc.field, str(exc))
            songs = services.search_songs(request.user, **form.filters())
        return {"form": form, "page": songs_page(request, songs), "nav": "library"}

    return read_cache.cached_page(request, "library", read_cache.viewer_scopes(request.user), "catalog/song_list.html",
                                  context)


def song_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return read_cache.cached_page(request, "song", read_cache.viewer_scopes(request.user), "catalog/song_detail.html",
                                  lambda: song_page_context(request, pk))


def song_page_context(request: HttpRequest, pk: int) -> dict:
    song = song_page_song(request, pk)
    label = GenreLabel.objects.select_related("genre", "labelled_by").filter(song=song).first()
    can_edit = song.can_edit(request.user)
    timeline_slugs = song.timeline.get("genres", []) if isinstance(song.timeline, dict) else []
    context = {
        "song": song,
        "timeline_genres": {genre.slug: {"name": genre.name, "colour": genre.colour}
                            for genre in Genre.objects.filter(slug__in=timeline_slugs)} if timeline_slugs else {},
        "predictions": services.song_predictions(song),
        "label": label,
        "can_edit": can_edit,
        "nav": "library",
    }
    if can_edit:
        initial_genre = label.genre if label else song.top_genre
        context["label_form"] = LabelForm(initial={"genre": initial_genre.slug if initial_genre else None})
        context["visibility_form"] = VisibilityForm(initial={"visibility": song.visibility})
    return context


@require_http_methods(["GET", "HEAD"])
def song_stream(request: HttpRequest, pk: int) -> HttpResponse:
    return stream_song(request, visible_song(request, pk, "audio"))


@require_http_methods(["GET", "HEAD"])
def song_spectrogram(request: HttpRequest, pk: int) -> HttpResponse:
    song = visible_song(request, pk)
    if not song.spectrogram or not default_storage.exists(song.spectrogram.name):
        raise Http404("This song has no spectrogram yet.")
    response = FileResponse(default_storage.open(song.spectrogram.name, "rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@login_required
def song_label(request: HttpRequest, pk: int) -> HttpResponse:
    song = editable_song(request, pk)
    form = LabelForm(request.POST)
    if form.is_valid():
        services.label_song(song, form.cleaned_data["genre"], request.user)
        messages.success(request, f"Genre of “{song.title}” set to {form.cleaned_data['genre'].name}.")
    else:
        messages.error(request, "Pick one of the listed genres.")
    return redirect(song)


@require_POST
@login_required
def song_visibility(request: HttpRequest, pk: int) -> HttpResponse:
    song = editable_song(request, pk)
    form = VisibilityForm(request.POST)
    if form.is_valid():
        services.set_visibility(song, form.cleaned_data["visibility"])
        messages.success(request, f"“{song.title}” is now {song.get_visibility_display().lower()}.")
    return redirect(song)


@login_required
@require_http_methods(["GET", "POST"])
def song_delete(request: HttpRequest, pk: int) -> HttpResponse:
    song = editable_song(request, pk)
    if request.method == "POST":
        title = song.title
        services.delete_song(song)
        messages.success(request, f"“{title}” was deleted.")
        return redirect("catalog:song-list")
    return render(request, "catalog/song_confirm_delete.html", {"song": song, "nav": "library"})


@csrf_exempt  # checked in store_uploads, after the size check: an over-size body is never read, token included
@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "catalog/upload.html", {
            "form": VisibilityForm(), "max_upload_bytes": max_upload_bytes(), "max_upload_mb": settings.SKYBEAT_MAX_UPLOAD_MB,
            "supported_formats": SUPPORTED_TEXT,
            "nav": "upload",
        })
    try:
        files = request.FILES.getlist("file")  # parsing the body flags an over-size one (catalog.uploads)
    except REFUSED_BODIES as exc:
        return render(request, "catalog/upload_result.html", {"error": refused_body_message(exc), "nav": "upload"},
                      status=400)
    if getattr(request, "upload_too_large", False):
        return render(request, "catalog/upload_result.html", {"error": too_large_message(), "nav": "upload"}, status=400)
    return store_uploads(request, files)


@csrf_protect
def store_uploads(request: HttpRequest, files: list) -> HttpResponse:
    if not files:
        return render(request, "catalog/upload_result.html",
                      {"error": "Choose at least one audio file to upload.", "nav": "upload"}, status=400)
    form = VisibilityForm(request.POST)
    visibility = form.cleaned_data["visibility"] if form.is_valid() else Song.Visibility.SHARED
    outcomes = ingest_uploads(files, request.user, visibility)
    status = 200 if any(outcome.ok for outcome in outcomes) else 400
    return render(request, "catalog/upload_result.html", {"outcomes": outcomes, "nav": "upload"}, status=status)


@login_required
def history(request: HttpRequest) -> HttpResponse:
    scopes = read_cache.viewer_scopes(request.user, read_cache.history_scope(request.user.pk))
    return read_cache.cached_page(request, "history", scopes, "catalog/history.html", lambda: {
        "page": songs_page(request, services.history(request.user), PLAYS_PER_PAGE, scopes), "nav": "history"})
