"""What every Subsonic endpoint shares: read the parameters (query or form POST), authenticate, answer in the asked
format, turn SubsonicErrors into Subsonic failures. Views receive a :class:`Call` and return a payload dict (or a
ready response, for media)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from .auth import authenticate
from .params import Params
from .responses import SubsonicError, answer, failure

METHODS = ("GET", "POST", "HEAD")


@dataclass
class Call:
    request: HttpRequest
    params: Params
    user: object  # the authenticated member; None for the public endpoints

    @property
    def client(self) -> str:
        return (self.params.get("c") or "unknown app").strip()[:100]


View = Callable[[Call], "dict | HttpResponseBase | None"]


def subsonic_view(view: View | None = None, *, public: bool = False):
    """Make ``view`` an endpoint; ``public`` ones answer without credentials (getOpenSubsonicExtensions)."""

    def decorate(view: View):
        @csrf_exempt  # apps sign every call with their credentials; there is no session to forge requests with
        @wraps(view)
        def endpoint(request: HttpRequest) -> HttpResponseBase:
            if request.method not in METHODS:
                return HttpResponseNotAllowed(METHODS)
            params = Params(request)
            try:
                user = None if public else authenticate(request, params)
                result = view(Call(request, params, user))
            except SubsonicError as error:
                return failure(error, params.response_format)
            return result if isinstance(result, HttpResponseBase) else answer(result, params.response_format)

        return endpoint

    return decorate(view) if view is not None else decorate


@csrf_exempt
def unknown_method(request: HttpRequest, name: str) -> HttpResponse:
    error = SubsonicError(SubsonicError.GENERIC, f"SKYBEAT does not implement the method {name!r}.")
    return failure(error, Params(request).response_format, http_status=404)
