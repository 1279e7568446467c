"""Pages: the personal mood dashboard and the mood radio. Logic lives in moods.dashboard / moods.profile."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from .dashboard import dashboard_data
from .profile import MOOD_COLOURS, MOOD_POINTS, MOODS, mood_point
from .services import radio_songs


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "moods/dashboard.html", {"nav": "moods", "data": dashboard_data(request.user)})


@login_required
def radio(request: HttpRequest) -> HttpResponse:
    """?mood=calm or ?mood=0.5,-0.3 → the 25 visible songs nearest that point, to play one after another."""
    mood = request.GET.get("mood", "").strip()
    context = {"nav": "moods", "moods": [(m, MOOD_COLOURS[m]) for m in MOODS], "mood": mood, "error": "", "queue": []}
    status = 200
    if mood:
        try:
            context["point"] = mood_point(mood)
            context["queue"] = radio_songs(request.user, mood)
        except ValueError as exc:
            context["error"], status = str(exc), 400
    context["data"] = {
        "point": context.get("point"),
        "mood_points": {m: list(p) for m, p in MOOD_POINTS.items()},
        "mood_colours": MOOD_COLOURS,
        "queue": [{"id": s.pk, "title": s.title, "artist": s.artist,
                   "stream": reverse("catalog:song-stream", args=[s.pk]),
                   "valence": s.mood.valence, "arousal": s.mood.arousal, "mood": s.mood.dominant}
                  for s in context["queue"]],
    }
    return render(request, "moods/radio.html", context, status=status)
