"""GET /api/songs/<id>/similar/ and /api/me/mix/: the song page's "Sounds like this" and the home page's mix."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Song
from catalog.serializers import SongSerializer

from . import services

MAX_COUNT = 50


class SimilarSongSerializer(serializers.Serializer):
    song = SongSerializer()
    similarity = serializers.FloatField(help_text="Cosine similarity of the two songs' sounds, -1 to 1")


class MixEntrySerializer(serializers.Serializer):
    song = SongSerializer()
    because = SongSerializer(help_text="The song you played that it sounds like")


class SimilarSongsView(APIView):
    @extend_schema(
        summary="Songs that sound like this one",
        description="The songs you may see nearest this song's sound (its classifier embedding), nearest first; "
                    "empty until the song is classified.",
        parameters=[OpenApiParameter("count", OpenApiTypes.INT, description=f"1 to {MAX_COUNT} (default "
                                     f"{services.SIMILAR_COUNT})")],
        responses={200: SimilarSongSerializer(many=True), 404: OpenApiResponse(description="No song you may see")},
    )
    def get(self, request: Request, pk: int) -> Response:
        song = get_object_or_404(Song.objects.visible_to(request.user), pk=pk)
        try:
            count = min(MAX_COUNT, max(1, int(request.query_params.get("count", services.SIMILAR_COUNT))))
        except ValueError:
            count = services.SIMILAR_COUNT
        neighbours = services.similar_songs(request.user, song, count, related=("top_genre", "audio", "uploaded_by"))
        return Response(SimilarSongSerializer(neighbours, many=True).data)


class MyMixView(APIView):
    @extend_schema(
        summary="My \"for you\" mix",
        description="Songs that sound like what you played lately (recency-weighted), leaving out what you played "
                    "in the last days, each with the played song it sounds like. Empty before your first play.",
        responses={200: MixEntrySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(MixEntrySerializer(services.for_you(request.user), many=True).data)
