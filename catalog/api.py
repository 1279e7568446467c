"""The REST API of the library: songs (upload, search, stream), genres, listens and history."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView, get_object_or_404  # a non-numeric id is a 404, not a 500
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from . import extensions, read_cache, services
from .forms import SongFilterForm
from .ingest import ingest_uploads, too_large_message
from .models import ListeningEvent, Song
from .serializers import (
    ErrorSerializer,
    GenreSerializer,
    HistoryEntrySerializer,
    ListenProgressSerializer,
    ListenSerializer,
    SongDetailSerializer,
    SongSerializer,
    SongStatusSerializer,
    UploadOptionsSerializer,
    UploadRequestSerializer,
    UploadResponseSerializer,
)
from .streaming import stream_song
from .throttling import UserRateThrottle

MAX_STATUS_IDS = 200
MAX_SONG_ID = 2**63 - 1  # song ids are 64-bit: a larger one names no song (and SQLite cannot even compare it)
AUDIO_BINARY = OpenApiResponse(OpenApiTypes.BINARY, description="The audio bytes (Content-Type from the detected format)")


class AnyAcceptNegotiation(BaseContentNegotiation):
    """The stream answers audio whatever the client accepts (an <audio> element or `Accept: audio/*`)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class CachedCountPagination(PageNumberPagination):
    """Page numbers, with the count of matching rows cached per viewer and filters (see catalog.read_cache)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.django_paginator_class = lambda rows, size: read_cache.CachedCountPaginator(
            rows, size, request=request, scopes=view.cache_scopes())
        return super().paginate_queryset(queryset, request, view)


class CachedListMixin:
    """A list answered from the read cache for the same viewer and URL while nothing it shows has changed: the
    JSON bytes themselves (other formats, e.g. the browsable API, render the cached data)."""

    pagination_class = CachedCountPagination

    def cache_scopes(self) -> list[str]:
        return [read_cache.SONGS]

    def list(self, request, *args, **kwargs):
        def data():
            return super(CachedListMixin, self).list(request, *args, **kwargs).data

        name, parts = f"api:{request.path}", [request.build_absolute_uri(), request.accepted_media_type]
        renderer = request.accepted_renderer
        if not isinstance(renderer, JSONRenderer):
            return Response(read_cache.cached(name, request.user, parts, data, self.cache_scopes()))
        body = read_cache.cached(name, request.user, parts, lambda: renderer.render(
            data(), request.accepted_media_type, self.get_renderer_context()), self.cache_scopes())
        return HttpResponse(body, content_type=request.accepted_media_type)


SONG_FILTERS = [
    OpenApiParameter("q", str, description="Words in the title, artist or album"),
    OpenApiParameter("genre", str, description="Slug of the top genre"),
    OpenApiParameter("uploader", str, description="Username of the uploader"),
    OpenApiParameter("status", str, enum=Song.Status.values),
    OpenApiParameter("sort", str, enum=list(services.SORTS)),
    *(OpenApiParameter(song_filter.name, str, description=song_filter.description)
      for song_filter in extensions.song_filters()),  # other apps' filters, e.g. moods' "mood"
]


@extend_schema_view(
    list=extend_schema(parameters=SONG_FILTERS, summary="Search the songs you may see"),
    retrieve=extend_schema(summary="A song with its genre probabilities and timeline"),
    destroy=extend_schema(summary="Delete your song (staff: any song)"),
)
class SongViewSet(CachedListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                  viewsets.GenericViewSet):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        songs = Song.objects.visible_to(self.request.user)
        if self.action == "retrieve":
            return songs.select_related("audio", "top_genre", "uploaded_by")
        return services.with_list_relations(songs)

    def get_serializer_class(self):
        return SongDetailSerializer if self.action == "retrieve" else SongSerializer

    def filter_queryset(self, queryset):
        if self.action != "list":
            return queryset
        form = SongFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        try:
            return services.search_songs(self.request.user, **form.filters())
        except extensions.SongFilterError as exc:  # e.g. an unknown mood
            raise ValidationError({exc.field: [str(exc)]}) from exc

    @extend_schema(
        summary="Upload one or more audio files",
        request={"multipart/form-data": UploadRequestSerializer},
        responses={
            201: OpenApiResponse(UploadResponseSerializer, description="At least one new song (others may have failed)"),
            200: OpenApiResponse(UploadResponseSerializer, description="Every stored file was already in the library"),
            400: OpenApiResponse(UploadResponseSerializer, description="No file could be stored; reasons per file"),
            413: OpenApiResponse(ErrorSerializer, description="Over the upload size limit; nothing was stored"),
        },
    )
    def create(self, request, *args, **kwargs):
        files = request.FILES.getlist("file")
        if getattr(request, "upload_too_large", False):
            return Response({"detail": too_large_message()}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        if not files:
            raise ValidationError({"file": ["Attach at least one audio file in the `file` field."]})
        options = UploadOptionsSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        outcomes = ingest_uploads(files, request.user, options.validated_data["visibility"])
        body = UploadResponseSerializer({"uploads": outcomes}, context=self.get_serializer_context()).data
        if any(outcome.created for outcome in outcomes):
            code = status.HTTP_201_CREATED
        elif any(outcome.ok for outcome in outcomes):
            code = status.HTTP_200_OK
        else:
            code = status.HTTP_400_BAD_REQUEST
        return Response(body, status=code)

    def perform_destroy(self, song):
        if not song.can_edit(self.request.user):
            raise PermissionDenied("Only the uploader or staff may delete this song.")
        services.delete_song(song)

    @extend_schema(
        summary="The song's audio, with HTTP Range support",
        responses={200: AUDIO_BINARY, 206: AUDIO_BINARY,
                   416: OpenApiResponse(description="Range not satisfiable (or several ranges); Content-Range: bytes */size")},
    )
    @action(detail=True, methods=["get"], url_path="stream", content_negotiation_class=AnyAcceptNegotiation)
    def stream(self, request, pk=None):
        return stream_song(request, get_object_or_404(Song.objects.visible_to(request.user).select_related("audio"), pk=pk))

    @extend_schema(
        summary="Status of several songs at once (for upload progress)",
        parameters=[OpenApiParameter("ids", str, required=True, description="Comma-separated song ids (at most 200)")],
        responses=SongStatusSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="status", url_name="status", pagination_class=None)
    def statuses(self, request):
        try:
            ids = {int(part) for part in request.query_params.get("ids", "").split(",") if part.strip()}
        except ValueError:
            raise ValidationError({"ids": ["Give song ids as comma-separated integers."]}) from None
        if not ids or len(ids) > MAX_STATUS_IDS:
            raise ValidationError({"ids": [f"Give between 1 and {MAX_STATUS_IDS} song ids."]})
        ids = {song_id for song_id in ids if 0 < song_id <= MAX_SONG_ID}
        songs = Song.objects.visible_to(request.user).filter(pk__in=ids).select_related("top_genre").order_by("pk")
        return Response(SongStatusSerializer(songs, many=True).data)


class GenreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = GenreSerializer
    pagination_class = None

    @extend_schema(summary="Genres, each with the number of songs you may see in it")
    def list(self, request, *args, **kwargs):
        return Response(GenreSerializer(services.genres_with_counts(request.user), many=True).data)


class ListenStartThrottle(UserRateThrottle):
    """Listens one user may start per period (the "listen" rate, SKYBEAT_THROTTLE_LISTENS)."""

    scope = "listen"


@extend_schema_view(
    create=extend_schema(summary="Start a listen (the player calls this when a song starts playing)"),
    retrieve=extend_schema(summary="One of your listens"),
)
class ListenViewSet(mixins.CreateModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ListenSerializer
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return ListeningEvent.objects.none()
        return ListeningEvent.objects.filter(user=self.request.user).select_related("song__audio")

    def get_throttles(self):
        throttles = super().get_throttles()
        return [*throttles, ListenStartThrottle()] if self.action == "create" else throttles

    def perform_create(self, serializer):
        serializer.instance = services.start_listen(self.request.user, serializer.validated_data["song"])

    @extend_schema(summary="Report listening progress", request=ListenProgressSerializer, responses=ListenSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self._progress(request)

    @extend_schema(
        summary="Report listening progress (form body, for navigator.sendBeacon)",
        request={"application/x-www-form-urlencoded": ListenProgressSerializer,
                 "multipart/form-data": ListenProgressSerializer, "application/json": ListenProgressSerializer},
        responses=ListenSerializer,
    )
    @action(detail=True, methods=["post"], url_path="progress")
    def progress(self, request, pk=None):
        return self._progress(request)

    def _progress(self, request):
        event = self.get_object()
        progress = ListenProgressSerializer(data=request.data)
        progress.is_valid(raise_exception=True)
        try:
            event = services.record_progress(event, **progress.validated_data)
        except ValueError as exc:
            raise ValidationError({"seconds_listened": [str(exc)]}) from exc
        return Response(ListenSerializer(event, context=self.get_serializer_context()).data)


@extend_schema(summary="Your plays (listens that counted), newest first")
class HistoryView(CachedListMixin, ListAPIView):
    serializer_class = HistoryEntrySerializer

    def cache_scopes(self) -> list[str]:
        return [read_cache.SONGS, read_cache.history_scope(self.request.user.pk)]

    def get_queryset(self):
        return services.history(self.request.user).select_related("song__uploaded_by")
