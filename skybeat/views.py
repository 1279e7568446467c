"""Site-wide views: home, accounts, health."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.generic import CreateView

from catalog.models import Genre, Song

from .health import health_report
from .throttle import record_signup, signup_allowed


def home(request: HttpRequest) -> HttpResponse:
    songs = Song.objects.visible_to(request.user).select_related("top_genre", "uploaded_by")[:12]
    genres = Genre.objects.filter(retired=False)
    return render(request, "home.html", {"recent_songs": songs, "genres": genres})


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


class SignUpView(CreateView):
    """Django's sign-up form, limited to SKYBEAT_SIGNUPS_PER_HOUR new accounts per client address."""

    form_class = UserCreationForm
    template_name = "registration/signup.html"
    success_url = reverse_lazy("home")

    def post(self, request, *args, **kwargs):
        if not signup_allowed(request):
            self.object = None
            form = self.get_form()
            form.add_error(None, "Too many accounts were created from your address in the last hour. "
                                 "Please try again later.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        record_signup(self.request)
        login(self.request, self.object, backend="skybeat.backends.ModelBackend")
        messages.success(self.request, f"Welcome to SKYBEAT, {self.object.username}!")
        return response
