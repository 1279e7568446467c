"""Errors of SKYBEAT's own that cross app boundaries, and how the API answers request bodies Django refuses."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from rest_framework.exceptions import ParseError
from rest_framework.views import exception_handler

#: Django raises these while parsing a body (as a SuspiciousOperation: an HTML 400 page unless caught).
REFUSED_BODIES = (TooManyFilesSent, TooManyFieldsSent, RequestDataTooBig)


class InvalidAudio(ValueError):
    """The bytes are not audio SKYBEAT can use; the message is the reason, readable by the uploader."""


def refused_body_message(exc: Exception) -> str:
    if isinstance(exc, TooManyFilesSent):
        return f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files in one request; nothing was stored."
    if isinstance(exc, TooManyFieldsSent):
        return f"Send at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields in one request."
    return "The request body is larger than this server accepts."


def api_exception_handler(exc: Exception, context: dict):
    """DRF's handler, plus a JSON 400 (not Django's HTML page) for a body Django refuses, e.g. 201 files."""
    if isinstance(exc, REFUSED_BODIES):
        exc = ParseError(refused_body_message(exc))
    return exception_handler(exc, context)
