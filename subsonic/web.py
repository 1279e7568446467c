"""The profile page: the settings a Subsonic app needs, with the member's app password, shown and regenerated."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .credentials import app_password_of, regenerate


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "subsonic/profile.html", {
        "app_password": app_password_of(request.user),
        "server_url": request.build_absolute_uri("/"),
        "api_url": request.build_absolute_uri(reverse("subsonic-ping").removesuffix("ping")),
        "nav": "profile",
    })


@require_POST
@login_required
def regenerate_app_password(request: HttpRequest) -> HttpResponse:
    regenerate(request.user)
    messages.success(request, "Your new app password is ready. Apps signed in with the old one must use this one now.")
    return redirect("profile")
