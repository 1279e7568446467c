"""Site-wide views: home, accounts, health."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.generic import CreateView

from catalog.models import Genre, Song

from .health import health_report


def home(request: HttpRequest) -> HttpResponse:
    songs = Song.objects.visible_to(request.user).select_related("top_genre", "uploaded_by")[:12]
    genres = Genre.objects.filter(retired=False)
    return render(request, "home.html", {"recent_songs": songs, "genres": genres})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


class SignUpView(CreateView):
    form_class = UserCreationForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        login(self.request, self.object, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(self.request, f"Welcome to SKYBEAT, {self.object.username}!")
        return response


class ThrottledLoginView(LoginView):
    """Django's login view with a failed-attempt limit per username and client address."""

    lockout_seconds = 15 * 60

    def _key(self) -> str:
        username = (self.request.POST.get("username") or "").lower()[:150]
        return f"login-failures:{self.request.META.get('REMOTE_ADDR', '')}:{username}"

    def post(self, request, *args, **kwargs):
        if cache.get(self._key(), 0) >= settings.SKYBEAT_LOGIN_FAILURE_LIMIT:
            form = self.get_form()
            form.add_error(None, "Too many failed log-in attempts. Please wait 15 minutes and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        key = self._key()
        cache.add(key, 0, self.lockout_seconds)
        cache.incr(key)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete(self._key())
        return super().form_valid(form)

