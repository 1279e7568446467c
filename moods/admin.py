"""Admin: the genre→mood mapping is edited here; snapshots show staff only per-day aggregates (privacy)."""

from django.contrib import admin, messages
from django.db.models import Avg, Count, Sum
from django.template.response import TemplateResponse

from .models import GenreMood, MoodSnapshot, SongMood


@admin.register(GenreMood)
class GenreMoodAdmin(admin.ModelAdmin):
    list_display = ["genre", "valence", "arousal", "energetic", "happy", "calm", "melancholic", "intense",
                    "reflective", "needs_review"]
    list_editable = ["valence", "arousal"]
    list_filter = ["needs_review"]
    search_fields = ["genre__name", "genre__slug"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["genre", "source", "needs_review", "updated_at"]}),
        ("Place on the plane (Russell's circumplex)", {"fields": ["valence", "arousal"]}),
        ("Mood weights (0–1, normalised when used)",
         {"fields": ["energetic", "happy", "calm", "melancholic", "intense", "reflective"]}),
    ]

    def save_model(self, request, obj, form, change):
        """Someone set these numbers on purpose: the genre no longer needs review."""
        obj.needs_review = False
        super().save_model(request, obj, form, change)

    def changelist_view(self, request, extra_context=None):
        pending = list(GenreMood.objects.filter(needs_review=True).values_list("genre__name", flat=True))
        if pending:
            messages.warning(
                request,
                f"{len(pending)} genre(s) still have the neutral placeholder mood and need review: "
                f"{', '.join(pending)}. "
                "Set their valence, arousal and mood weights (see docs/moods.md).",
            )
        return super().changelist_view(request, extra_context)


@admin.register(SongMood)
class SongMoodAdmin(admin.ModelAdmin):
    list_display = ["song", "dominant", "valence", "arousal", "updated_at"]
    list_filter = ["dominant"]
    list_select_related = ["song"]
    search_fields = ["song__title", "song__artist"]
    readonly_fields = ["song", "valence", "arousal", "dominant", "moods", "updated_at"]

    def has_add_permission(self, request):
        return False


@admin.register(MoodSnapshot)
class MoodSnapshotAdmin(admin.ModelAdmin):
    """Superusers see rows; other staff see only per-day aggregates, never one person's profile."""

    list_display = ["user", "date", "dominant", "valence", "arousal", "confidence", "plays"]
    list_filter = ["date", "dominant"]
    date_hierarchy = "date"
    readonly_fields = [f.name for f in MoodSnapshot._meta.fields]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or (obj is None and request.user.is_active and request.user.is_staff)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def changelist_view(self, request, extra_context=None):
        if request.user.is_superuser:
            return super().changelist_view(request, extra_context)
        days = (
            MoodSnapshot.objects.values("date")
            .annotate(users=Count("user", distinct=True), valence=Avg("valence"), arousal=Avg("arousal"),
                      confidence=Avg("confidence"), plays=Sum("plays"))
            .order_by("-date")[:60]
        )
        dominant = MoodSnapshot.objects.values("date", "dominant").annotate(users=Count("user")).order_by()
        by_day: dict = {}
        for row in dominant:
            if row["dominant"]:
                by_day.setdefault(row["date"], {})[row["dominant"]] = row["users"]
        context = {
            **self.admin_site.each_context(request),
            "title": "Mood snapshots: daily aggregates",
            "opts": self.model._meta,
            "days": [{**day, "dominant": sorted(by_day.get(day["date"], {}).items(), key=lambda kv: -kv[1])}
                     for day in days],
        }
        return TemplateResponse(request, "moods/admin_aggregates.html", context)
