"""The installable app: the web app manifest, the service worker and the page it shows offline.

The service worker caches the app shell only (styles, scripts, icons and the offline page): never a song,
an API answer or a page with someone's data in it, so nothing private outlives a session on a shared device.
"""

import hashlib
import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

THEME_COLOUR = "#0f1016"
#: The styles and scripts every page loads, in order (templatetags.app_shell writes their tags).
SHELL_STYLES = ("css/skybeat.css", "css/catalog.css", "css/moods.css", "css/player.css")
SHELL_SCRIPTS = (
    "django_htmx/htmx-2.min.js", "django_htmx/ext/hx-head-2.min.js",
    "js/app.js", "js/listens.js", "js/queue.js", "js/mediasession.js", "js/queuepanel.js", "js/player.js",
    "js/songpage.js",
)
#: What the service worker keeps for offline starts.
SHELL_FILES = (*SHELL_STYLES, *SHELL_SCRIPTS, "img/logo.svg", "img/icon-192.png", "img/icon-512.png")
ICONS = (
    ("img/icon-192.png", "192x192", "any"),
    ("img/icon-512.png", "512x512", "any"),
    ("img/icon-maskable-512.png", "512x512", "maskable"),
)


@require_safe
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    home = reverse("home")
    body = {
        "id": home,
        "name": "SKYBEAT",
        "short_name": "SKYBEAT",
        "description": "Your music library, classified by genre and mood.",
        "start_url": home,
        "scope": home,
        "display": "standalone",
        "orientation": "any",
        "background_color": THEME_COLOUR,
        "theme_color": THEME_COLOUR,
        "categories": ["music", "entertainment"],
        "icons": [{"src": static(path), "sizes": sizes, "type": "image/png", "purpose": purpose}
                  for path, sizes, purpose in ICONS],
        "shortcuts": [
            {"name": "Library", "url": reverse("catalog:song-list")},
            {"name": "Browse genres", "url": reverse("catalog:genre-list")},
        ],
    }
    return JsonResponse(body, content_type="application/manifest+json", json_dumps_params={"indent": 2})


@require_safe
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """Served from the site root so it may control every page; its cache is named after the shell's file URLs
    (content-hashed in production), so a deploy with new styles or scripts gets a fresh cache."""
    shell = [static(path) for path in SHELL_FILES]
    offline_url = reverse("offline")
    version = hashlib.sha256("\n".join([*shell, offline_url]).encode()).hexdigest()[:16]
    context = {"version": version, "shell_json": json.dumps(shell), "offline_url": json.dumps(offline_url)}
    response = render(request, "pwa/service_worker.js", context, content_type="text/javascript")
    response["Service-Worker-Allowed"] = reverse("home")
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """The page shown when a page can't be reached: the same for everyone, since the service worker keeps it."""
    return render(request, "pwa/offline.html", {"theme_colour": THEME_COLOUR})
