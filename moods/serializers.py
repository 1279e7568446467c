"""The mood API's shapes: the current profile and daily snapshots, genres named by slug."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .dashboard import genre_shares
from .models import MoodSnapshot
from .profile import MOODS


class GenreShareSerializer(serializers.Serializer):
    genre = serializers.CharField(help_text="Genre slug")
    name = serializers.CharField()
    colour = serializers.CharField()
    share = serializers.FloatField()


def mood_shares() -> serializers.DictField:
    return serializers.DictField(
        child=serializers.FloatField(), help_text="Share of each named mood: " + ", ".join(MOODS)
    )


class SnapshotSerializer(serializers.ModelSerializer):
    moods = mood_shares()
    distribution = serializers.SerializerMethodField()

    class Meta:
        model = MoodSnapshot
        fields = ["date", "valence", "arousal", "moods", "dominant", "confidence", "plays", "seconds", "distribution"]

    @extend_schema_field(GenreShareSerializer(many=True))
    def get_distribution(self, snapshot: MoodSnapshot) -> list[dict]:
        return GenreShareSerializer(genre_shares(snapshot.distribution, self.context["genres"]), many=True).data


class ProfileSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField()
    date = serializers.DateField(allow_null=True, help_text="Day of the snapshot the profile is aged from")
    valence = serializers.FloatField(allow_null=True)
    arousal = serializers.FloatField(allow_null=True)
    moods = mood_shares()
    dominant = serializers.CharField(allow_blank=True)
    sentence = serializers.CharField(allow_blank=True)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    plays = serializers.IntegerField()
    seconds = serializers.FloatField()
    distribution = GenreShareSerializer(many=True)


class SnapshotRangeSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    snapshots = SnapshotSerializer(many=True)

    def get_fields(self):
        """``from`` is a Python keyword: declared as ``from_``, rendered as ``from``."""
        fields = super().get_fields()
        return {"from": fields.pop("from_"), **fields}
