"""GET /api/me/mood/: the caller's own profile, or their daily snapshots in a date range."""

from datetime import date

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Genre

from .models import MoodSnapshot
from .dashboard import genre_shares
from .serializers import ProfileSerializer, SnapshotRangeSerializer
from .services import current_profile

MAX_RANGE_DAYS = 366


def parse_day(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: f"'{raw}' is not a date: use YYYY-MM-DD, e.g. 2026-01-31."}) from None


class MyMoodView(APIView):
    @extend_schema(
        summary="My mood profile",
        description="The current profile (recency-weighted), or with `from`/`to` the daily snapshots in that range "
                    f"(at most {MAX_RANGE_DAYS} days; `to` defaults to today, `from` to a year before `to`).",
        parameters=[OpenApiParameter("from", OpenApiTypes.DATE), OpenApiParameter("to", OpenApiTypes.DATE)],
        responses={200: PolymorphicProxySerializer("MyMood", [ProfileSerializer, SnapshotRangeSerializer], None),
                   400: OpenApiResponse(description="A bad date or range")},
    )
    def get(self, request: Request) -> Response:
        first, last = parse_day(request, "from"), parse_day(request, "to")
        if first is None and last is None:
            return Response(ProfileSerializer(self.current(request)).data)
        last = last or timezone.localdate()
        # By ordinal, not `last - timedelta`: a year before 0001-01-01 would overflow.
        first = first or date.fromordinal(max(1, last.toordinal() - (MAX_RANGE_DAYS - 1)))
        if first > last:
            raise ValidationError({"from": "'from' must not be after 'to'."})
        if (last - first).days >= MAX_RANGE_DAYS:
            raise ValidationError({"from": f"Ask for at most {MAX_RANGE_DAYS} days at a time."})
        snapshots = MoodSnapshot.objects.filter(user=request.user, date__range=(first, last)).order_by("date")
        genres = Genre.objects.in_bulk()
        data = {"from": first, "to": last, "snapshots": snapshots}
        return Response(SnapshotRangeSerializer(data, context={"genres": genres}).data)

    @staticmethod
    def current(request: Request) -> dict:
        now = timezone.now()
        snapshot, profile = current_profile(request.user, now)
        blend = profile.blend if profile else None
        return {
            "as_of": now,
            "date": snapshot.date if snapshot else None,
            "valence": blend.valence if blend else None,
            "arousal": blend.arousal if blend else None,
            "moods": blend.moods if blend else {},
            "dominant": profile.dominant if profile else "",
            "sentence": profile.sentence if profile else "",
            "confidence": profile.confidence if profile else 0.0,
            "plays": snapshot.plays if snapshot else 0,
            "seconds": snapshot.seconds if snapshot else 0.0,
            "distribution": genre_shares(profile.distribution) if profile else [],
        }
